// Turns masked output into sequence-numbered LogChunks, sent as 'logs' events in batches.

import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { withTextBytes, writtenChunk, type AgentEvent, type LogChunk } from '../protocol/agent.js';
import { writeAllAt } from '../util/write-at.js';

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
  /**
   * Write the bytes to this file from `offset` on and send where they are instead of the bytes
   * (StageJob.logFile: local mode, with a store that keeps output in files). Each batch is in the
   * file before its event is emitted.
   */
  readonly file?: { readonly path: string; readonly offset: number };
}

/** A chunk cut from the output, before it is sent: its fields and its bytes (views, in order). */
interface Piece {
  readonly seq: number;
  readonly step: number | null;
  readonly stream: LogStream;
  readonly parts: readonly Buffer[];
  readonly length: number;
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
  private readonly file: LogFileWriter | null;

  constructor(
    private readonly jobId: string,
    private readonly emit: (e: AgentEvent) => void,
    options: LogBatcherOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.maxChunkBytes = Math.max(4, options.maxChunkBytes ?? 256 * 1024);
    this.intervalMs = options.intervalMs ?? 20;
    this.file = options.file ? new LogFileWriter(options.file.path, options.file.offset) : null;
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

  /** Flushes, then closes the log file if there is one (the job is over). */
  close(): void {
    this.send('flush');
    this.file?.close();
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
    let chunks: Piece[] = [];
    let batched = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      // The segment's pieces of output as they came: chunks are views on them, never a joined copy
      // (the file writer writes the views; the frame writer joins a chunk's views once).
      const bytes = new Run(seg.parts);
      let from = 0;
      let to = bytes.length;
      if (trigger !== 'flush' && i === segments.length - 1) {
        const partialLine = to - (bytes.lastIndexOf(0x0a, to - 1) + 1);
        const keep = trigger === 'size' && partialLine < this.batchBytes ? partialLine : incompleteCharBytes(bytes.tail(4));
        if (keep > 0) {
          carry = { step: seg.step, stream: seg.stream, parts: bytes.slice(to - keep, to), length: keep };
          to -= keep;
        }
      }
      while (from < to) {
        const piece = this.cut(bytes, from, to);
        chunks.push({ seq: ++this.seq, step: seg.step, stream: seg.stream, parts: bytes.slice(from, from + piece), length: piece });
        from += piece;
        batched += piece;
        if (batched >= this.batchBytes) {
          this.emitPieces(chunks);
          chunks = [];
          batched = 0;
        }
      }
    }
    if (chunks.length > 0) this.emitPieces(chunks);
    if (carry !== null) {
      this.pending.push(carry);
      this.pendingBytes = carry.length;
      // A partial line goes on the interval; a partial character waits for its other bytes.
      if (trigger === 'size') this.timer = setTimeout(() => this.send('interval'), this.intervalMs);
    }
  }

  private emitPieces(pieces: readonly Piece[]): void {
    const file = this.file;
    const chunks =
      file === null
        ? pieces.map((p) => withTextBytes<LogChunk>({ seq: p.seq, step: p.step, stream: p.stream }, p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.length)))
        : file.write(pieces).map((slice, i) => {
            const p = pieces[i] as Piece;
            return writtenChunk<LogChunk>({ seq: p.seq, step: p.step, stream: p.stream }, slice);
          });
    this.emit({ type: 'logs', jobId: this.jobId, chunks });
  }

  /** Length of the next chunk of bytes[from, to): all of it, or up to a line end, or the cap. */
  private cut(bytes: Run, from: number, to: number): number {
    const max = this.maxChunkBytes;
    if (to - from <= max) return to - from;
    const nl = bytes.lastIndexOf(0x0a, from + max - 1);
    if (nl >= from) return nl + 1 - from;
    // Never inside a UTF-8 character: cut before the one the cap falls in.
    let at = from + max;
    for (let k = 0; k < 3 && isContinuation(bytes.at(at)); k++) at--;
    return at > from && !isContinuation(bytes.at(at)) ? at - from : max;
  }
}

/** Buffers read as one run of bytes, without joining them. */
class Run {
  readonly length: number;
  /** Where each part starts in the run. */
  private readonly starts: number[] = [];

  constructor(private readonly parts: readonly Buffer[]) {
    let n = 0;
    for (const p of parts) {
      this.starts.push(n);
      n += p.length;
    }
    this.length = n;
  }

  /** The part holding byte `i` (0 ≤ i < length). */
  private partOf(i: number): number {
    let k = this.parts.length - 1;
    while (k > 0 && this.starts[k]! > i) k--;
    return k;
  }

  at(i: number): number {
    const k = this.partOf(i);
    return this.parts[k]![i - this.starts[k]!]!;
  }

  /** The last index ≤ `from` holding `byte`, or -1. */
  lastIndexOf(byte: number, from: number): number {
    if (from < 0) return -1;
    for (let k = this.partOf(from); k >= 0; k--) {
      const part = this.parts[k]!;
      const start = this.starts[k]!;
      const found = part.lastIndexOf(byte, Math.min(from - start, part.length - 1));
      if (found >= 0) return start + found;
    }
    return -1;
  }

  /** Views on bytes [from, to). */
  slice(from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    if (from >= to) return out;
    for (let k = this.partOf(from); k < this.parts.length; k++) {
      const start = this.starts[k]!;
      if (start >= to) break;
      const part = this.parts[k]!;
      out.push(part.subarray(Math.max(0, from - start), Math.min(part.length, to - start)));
    }
    return out;
  }

  /** The last `n` bytes (fewer in a shorter run), as one small buffer. */
  tail(n: number): Buffer {
    const parts = this.slice(Math.max(0, this.length - n), this.length);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
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

/**
 * The job's log file, written at positions from the offset the store gave (not O_APPEND: bytes past
 * the store's index, left by a process that was killed, are overwritten). Synchronous: a batch is
 * in the file (the page cache) before the event that says where it is.
 */
class LogFileWriter {
  private fd: number | null = null;

  constructor(
    private readonly path: string,
    private at: number,
  ) {}

  /** Writes the pieces' bytes one after another, in one writev; returns where each piece went. */
  write(pieces: readonly Piece[]): Array<{ path: string; offset: number; length: number }> {
    if (this.fd === null) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.path, constants.O_WRONLY | constants.O_CREAT, 0o600);
    }
    const fd = this.fd;
    const slices = pieces.map((p) => {
      const slice = { path: this.path, offset: this.at, length: p.length };
      this.at += p.length;
      return slice;
    });
    const parts = pieces.flatMap((p) => p.parts);
    writeAllAt(fd, parts, slices[0]?.offset ?? this.at);
    return slices;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
