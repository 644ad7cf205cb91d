// Writes JSON lines to a stream and tells producers when to wait for it to drain. Log chunks can go
// framed instead (see src/protocol/agent.ts): a JSON header line, then the texts as raw UTF-8, so a
// flood of output is copied once rather than escaped into JSON and parsed back.

import type { Writable } from 'node:stream';
import { textBytes, writtenSlice, type AgentEvent } from '../protocol/agent.js';

type LogsEvent = Extract<AgentEvent, { type: 'logs' }>;

export interface JsonLineWriterOptions {
  /**
   * Messages that are not urgent wait up to this long to share one write with the next ones (0: every
   * message is written at once). Each write to a pipe wakes the reader, and on a busy machine that
   * costs the writer more than the write itself; a step's reports are not urgent, its job's end is.
   */
  readonly coalesceMs?: number;
}

/** A message waiting to be written is written at once when this many bytes are waiting. */
const COALESCE_MAX_BYTES = 64 * 1024;

export class JsonLineWriter {
  private drained: Promise<void> | null = null;
  private broken = false;
  private readonly coalesceMs: number;
  /** Messages waiting to be written, and their size. */
  private pending: Array<string | Buffer> = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly out: Writable,
    options: JsonLineWriterOptions = {},
  ) {
    this.coalesceMs = options.coalesceMs ?? 0;
    // EPIPE when the reader is gone: nothing more can be delivered, so stop writing rather than crash.
    out.on('error', () => {
      this.broken = true;
      this.pending = [];
      this.pendingBytes = 0;
      this.release();
    });
    out.on('drain', () => this.release());
  }

  /** A message as a JSON line; `urgent` writes it (and whatever waits) now. */
  write(message: unknown, urgent = true): void {
    if (this.broken) return;
    const line = `${JSON.stringify(message)}\n`;
    this.queue(line, line.length, urgent);
  }

  /**
   * A 'logs' event as a frame: the header line `{"type":"logs","jobId":…,"bytes":N,"chunks":[{"seq",
   * "step","stream","bytes"}…]}` followed by the N bytes of the chunks' texts, in order, as UTF-8.
   * Written with one writev, the chunks' bytes as they are.
   */
  writeLogsFrame(e: LogsEvent, urgent = true): void {
    if (this.broken) return;
    let total = 0;
    // A chunk made from output bytes (the batcher's) goes as those bytes: no decoding, no copy.
    const parts: Array<string | Buffer> = [''];
    const chunks = e.chunks.map((c) => {
      // One the agent wrote to the job's log file goes as where it is, without its bytes.
      const written = writtenSlice(c);
      if (written) return { seq: c.seq, step: c.step, stream: c.stream, bytes: written.length, at: written.offset };
      const raw = textBytes(c);
      const bytes = raw?.length ?? Buffer.byteLength(c.text, 'utf8');
      parts.push(raw ?? c.text);
      total += bytes;
      return { seq: c.seq, step: c.step, stream: c.stream, bytes };
    });
    const header = `${JSON.stringify({ type: 'logs', jobId: e.jobId, bytes: total, chunks })}\n`;
    parts[0] = header;
    this.queueParts(parts, header.length + total, urgent);
  }

  /** Writes whatever waits. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0 || this.broken) return;
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (parts.length === 1) {
      this.after(this.out.write(parts[0] as string | Buffer));
      return;
    }
    // One writev for all of them.
    this.out.cork();
    let ok = true;
    for (const p of parts) ok = this.out.write(p);
    this.out.uncork();
    this.after(ok);
  }

  /** A promise while the stream is over its high-water mark, else undefined. */
  whenDrained(): Promise<void> | undefined {
    return this.drained ?? undefined;
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flushed(): Promise<void> {
    this.flush();
    if (this.broken || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.out.write('', () => resolve()));
  }

  get isBroken(): boolean {
    return this.broken;
  }

  private resolveDrained: (() => void) | null = null;

  private queue(data: string | Buffer, size: number, urgent: boolean): void {
    this.queueParts([data], size, urgent);
  }

  /** Parts that follow one another in the stream, written with one writev when there are several. */
  private queueParts(parts: ReadonlyArray<string | Buffer>, size: number, urgent: boolean): void {
    for (const p of parts) this.pending.push(p);
    this.pendingBytes += size;
    if (this.coalesceMs <= 0 || urgent || this.pendingBytes >= COALESCE_MAX_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  /** The stream queues what it could not write yet; producers are asked to wait via `whenDrained`. */
  private after(ok: boolean): void {
    if (!ok && this.drained === null) {
      this.drained = new Promise<void>((resolve) => {
        this.resolveDrained = resolve;
      });
    }
  }

  private release(): void {
    const resolve = this.resolveDrained;
    this.drained = null;
    this.resolveDrained = null;
    resolve?.();
  }
}
