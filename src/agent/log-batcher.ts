// Turns masked output into sequence-numbered LogChunks, sent as 'logs' events in batches.

import { withTextBytes, type AgentEvent, type LogChunk } from '../protocol/agent.js';

export type LogStream = LogChunk['stream'];

export interface LogBatcherOptions {
  /**
   * A batch is sent once this many bytes are pending. Default 256 KiB: a flood then makes few, big
   * chunks (each chunk costs the receiver and the store an index entry); quiet output goes on the
   * interval anyway.
   */
  readonly batchBytes?: number;
  /** No chunk is longer than this many bytes; a longer line is cut. Default 256 KiB. */
  readonly maxChunkBytes?: number;
  /**
   * Pending output is sent at most this long after it was written. Default 20 ms: short enough to
   * look live, long enough that a chatty step's line-at-a-time writes share one event.
   */
  readonly intervalMs?: number;
}

interface Segment {
  readonly step: number | null;
  readonly stream: LogStream;
  parts: Buffer[];
  length: number;
}

/**
 * Why a batch is sent: its size (chunks end on line boundaries), the interval (a UTF-8 character
 * whose bytes have not all arrived waits for the rest), or a flush (everything goes).
 */
type Trigger = 'size' | 'interval' | 'flush';

/**
 * Output stays bytes from the process to the chunk (each chunk's text is decoded only if someone
 * reads it: the local transport and the store pass the bytes on), and chunks never split a UTF-8
 * character, so every chunk decodes on its own.
 */
export class LogBatcher {
  private readonly batchBytes: number;
  private readonly maxChunkBytes: number;
  private readonly intervalMs: number;
  private pending: Segment[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(
    private readonly jobId: string,
    private readonly emit: (e: AgentEvent) => void,
    options: LogBatcherOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.maxChunkBytes = Math.max(4, options.maxChunkBytes ?? 256 * 1024);
    this.intervalMs = options.intervalMs ?? 20;
  }

  /** The seq of the last chunk sent; 0 before any. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Output (as it came, already masked) or a line of the agent's own. */
  write(step: number | null, stream: LogStream, data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length === 0) return;
    const last = this.pending.at(-1);
    if (last !== undefined && last.step === step && last.stream === stream) {
      last.parts.push(bytes);
      last.length += bytes.length;
    } else {
      this.pending.push({ step, stream, parts: [bytes], length: bytes.length });
    }
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.batchBytes) this.send('size');
    else this.timer ??= setTimeout(() => this.send('interval'), this.intervalMs);
  }

  /** Sends everything pending now, partial lines included (at a step's end, before job-finished). */
  flush(): void {
    this.send('flush');
  }

  /**
   * On the size trigger the last segment's unfinished line stays pending so chunks end on line
   * boundaries — unless it is itself a batch's worth, which bounds how often a long line without a
   * newline is re-examined.
   */
  private send(trigger: Trigger): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingBytes === 0) return;
    const segments = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let carry: Segment | null = null;
    let chunks: LogChunk[] = [];
    let batched = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      // One copy per segment: fewer, bigger chunks cost the receiver and the store less than views.
      let buf = seg.parts.length === 1 ? seg.parts[0]! : Buffer.concat(seg.parts, seg.length);
      if (trigger !== 'flush' && i === segments.length - 1) {
        const partialLine = buf.length - (buf.lastIndexOf(0x0a) + 1);
        const keep = trigger === 'size' && partialLine < this.batchBytes ? partialLine : incompleteCharBytes(buf);
        if (keep > 0) {
          carry = { step: seg.step, stream: seg.stream, parts: [buf.subarray(buf.length - keep)], length: keep };
          buf = buf.subarray(0, buf.length - keep);
        }
      }
      while (buf.length > 0) {
        const piece = this.cut(buf);
        chunks.push(withTextBytes<LogChunk>({ seq: ++this.seq, step: seg.step, stream: seg.stream }, buf.subarray(0, piece)));
        buf = buf.subarray(piece);
        batched += piece;
        if (batched >= this.batchBytes) {
          this.emit({ type: 'logs', jobId: this.jobId, chunks });
          chunks = [];
          batched = 0;
        }
      }
    }
    if (chunks.length > 0) this.emit({ type: 'logs', jobId: this.jobId, chunks });
    if (carry !== null) {
      this.pending.push(carry);
      this.pendingBytes = carry.length;
      // A partial line goes on the interval; a partial character waits for its other bytes.
      if (trigger === 'size') this.timer = setTimeout(() => this.send('interval'), this.intervalMs);
    }
  }

  /** Length of the next chunk of `buf`: all of it, or up to a line end, or the cap. */
  private cut(buf: Buffer): number {
    const max = this.maxChunkBytes;
    if (buf.length <= max) return buf.length;
    const nl = buf.lastIndexOf(0x0a, max - 1);
    if (nl >= 0) return nl + 1;
    // Never inside a UTF-8 character: cut before the one the cap falls in.
    let at = max;
    for (let k = 0; k < 3 && isContinuation(buf[at]!); k++) at--;
    return at > 0 && !isContinuation(buf[at]!) ? at : max;
  }
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** How many bytes at the end of `buf` begin a UTF-8 character whose other bytes have not come yet. */
export function incompleteCharBytes(buf: Buffer): number {
  const n = buf.length;
  let start = n - 1;
  while (start >= 0 && start > n - 4 && isContinuation(buf[start]!)) start--;
  if (start < 0) return 0;
  const lead = buf[start]!;
  const want = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 1;
  return n - start < want ? n - start : 0;
}
