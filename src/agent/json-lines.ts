// Writes JSON lines to a stream and tells producers when to wait for it to drain.

import type { Writable } from 'node:stream';

export class JsonLineWriter {
  private drained: Promise<void> | null = null;
  private broken = false;

  constructor(private readonly out: Writable) {
    // EPIPE when the reader is gone: nothing more can be delivered, so stop writing rather than crash.
    out.on('error', () => {
      this.broken = true;
      this.release();
    });
    out.on('drain', () => this.release());
  }

  write(message: unknown): void {
    if (this.broken) return;
    const ok = this.out.write(`${JSON.stringify(message)}\n`);
    // The stream queues what it could not write yet; producers are asked to wait via `whenDrained`.
    if (!ok && this.drained === null) {
      this.drained = new Promise<void>((resolve) => {
        this.resolveDrained = resolve;
      });
    }
  }

  /** A promise while the stream is over its high-water mark, else undefined. */
  whenDrained(): Promise<void> | undefined {
    return this.drained ?? undefined;
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flushed(): Promise<void> {
    if (this.broken || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.out.write('', () => resolve()));
  }

  get isBroken(): boolean {
    return this.broken;
  }

  private resolveDrained: (() => void) | null = null;

  private release(): void {
    const resolve = this.resolveDrained;
    this.drained = null;
    this.resolveDrained = null;
    resolve?.();
  }
}
