// An append-only file of JSON lines read back from the front: where a job's undelivered events go
// once its in-memory buffer is full (a flood of output while the server is away).

import { closeSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

export class SpillFile {
  private fd: number | null = null;
  /** Byte length of each line not yet read, oldest first (from `head`). */
  private lengths: number[] = [];
  private head = 0;
  private readPos = 0;
  private writePos = 0;

  constructor(readonly path: string) {}

  /** Lines not yet read back. */
  get count(): number {
    return this.lengths.length - this.head;
  }

  /** Bytes not yet read back. */
  get bytes(): number {
    return this.writePos - this.readPos;
  }

  /** Appends one line (`text` holds no newline). Throws when the disk refuses. */
  append(text: string): void {
    // Events are already masked, but stage logs are still nobody else's business.
    this.fd ??= openSync(this.path, 'w+', 0o600);
    const buf = Buffer.from(`${text}\n`, 'utf8');
    let off = 0;
    while (off < buf.length)
      off += writeSync(this.fd, buf, off, buf.length - off, this.writePos + off);
    this.writePos += buf.length;
    this.lengths.push(buf.length);
  }

  /** Removes and returns the oldest lines: at least one, then as many as fit in `maxBytes`. */
  shift(maxBytes: number): string[] {
    if (this.fd === null || this.count === 0) return [];
    let n = 0;
    let size = 0;
    while (this.head + n < this.lengths.length) {
      const len = this.lengths[this.head + n]!;
      if (n > 0 && size + len > maxBytes) break;
      size += len;
      n++;
    }
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const got = readSync(this.fd, buf, off, size - off, this.readPos + off);
      if (got === 0) throw new Error(`${this.path} is shorter than what was written to it`);
      off += got;
    }
    this.readPos += size;
    this.head += n;
    if (this.count === 0) this.reset();
    const text = buf.toString('utf8');
    return text.slice(0, -1).split('\n');
  }

  /** Removes the file. */
  dispose(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.lengths = [];
    this.head = this.readPos = this.writePos = 0;
    rmSync(this.path, { force: true });
  }

  /** Everything was read back: start the file over so it does not grow for the job's lifetime. */
  private reset(): void {
    if (this.fd !== null) ftruncateSync(this.fd, 0);
    this.lengths = [];
    this.head = this.readPos = this.writePos = 0;
  }
}
