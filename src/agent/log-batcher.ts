// Turns masked output text into sequence-numbered LogChunks, sent as 'logs' events in batches.

import type { AgentEvent, LogChunk } from '../protocol/agent.js';

export type LogStream = LogChunk['stream'];

export interface LogBatcherOptions {
  /** A batch is sent once this many characters are pending. Default 64 KiB. */
  readonly batchChars?: number;
  /** No chunk is longer than this; a longer line is cut. Default 256 KiB. */
  readonly maxChunkChars?: number;
  /**
   * Pending output is sent at most this long after it was written. Default 20 ms: short enough to
   * look live, long enough that a chatty step's line-at-a-time writes share one event.
   */
  readonly intervalMs?: number;
}

interface Segment {
  readonly step: number | null;
  readonly stream: LogStream;
  parts: string[];
  length: number;
}

export class LogBatcher {
  private readonly batchChars: number;
  private readonly maxChunkChars: number;
  private readonly intervalMs: number;
  private pending: Segment[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(
    private readonly jobId: string,
    private readonly emit: (e: AgentEvent) => void,
    options: LogBatcherOptions = {},
  ) {
    this.batchChars = options.batchChars ?? 64 * 1024;
    this.maxChunkChars = options.maxChunkChars ?? 256 * 1024;
    this.intervalMs = options.intervalMs ?? 20;
  }

  /** The seq of the last chunk sent; 0 before any. */
  get lastSeq(): number {
    return this.seq;
  }

  write(step: number | null, stream: LogStream, text: string): void {
    if (text === '') return;
    const last = this.pending.at(-1);
    if (last !== undefined && last.step === step && last.stream === stream) {
      last.parts.push(text);
      last.length += text.length;
    } else {
      this.pending.push({ step, stream, parts: [text], length: text.length });
    }
    this.pendingChars += text.length;
    if (this.pendingChars >= this.batchChars) this.send(false);
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends everything pending now, partial lines included (at a step's end, before job-finished). */
  flush(): void {
    this.send(true);
  }

  /**
   * With `all` false (the size trigger) the last segment's unfinished line stays pending so chunks
   * end on line boundaries — unless it is itself a batch's worth, which bounds how often a long
   * line without a newline is re-examined.
   */
  private send(all: boolean): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingChars === 0) return;
    const segments = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    let carry: Segment | null = null;
    let chunks: LogChunk[] = [];
    let batched = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      let text = seg.parts.length === 1 ? seg.parts[0]! : seg.parts.join('');
      if (!all && i === segments.length - 1) {
        const cut = text.lastIndexOf('\n') + 1;
        if (text.length - cut < this.batchChars && cut < text.length) {
          carry = {
            step: seg.step,
            stream: seg.stream,
            parts: [text.slice(cut)],
            length: text.length - cut,
          };
          text = text.slice(0, cut);
        }
      }
      while (text.length > 0) {
        const piece = this.cut(text);
        chunks.push({
          seq: ++this.seq,
          step: seg.step,
          stream: seg.stream,
          text: text.slice(0, piece),
        });
        text = text.slice(piece);
        batched += piece;
        if (batched >= this.batchChars) {
          this.emit({ type: 'logs', jobId: this.jobId, chunks });
          chunks = [];
          batched = 0;
        }
      }
    }
    if (chunks.length > 0) this.emit({ type: 'logs', jobId: this.jobId, chunks });
    if (carry !== null) {
      this.pending.push(carry);
      this.pendingChars = carry.length;
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
    }
  }

  /** Length of the next chunk of `text`: all of it, or up to a line end, or the cap. */
  private cut(text: string): number {
    const max = this.maxChunkChars;
    if (text.length <= max) return text.length;
    const nl = text.lastIndexOf('\n', max - 1);
    if (nl >= 0) return nl + 1;
    // Never split a surrogate pair.
    const code = text.charCodeAt(max - 1);
    return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  }
}
