// One job's undelivered events: numbered from 1, kept until the server acknowledges them, handed
// out in order in batches; memory first, then a spill file, then backpressure on the job.

import type { AgentEvent } from '../../protocol/agent.js';
import { SpillFile } from './spill-file.js';

export interface OutboxLimits {
  /** Serialised events a batch holds at most (one larger event goes alone). Default 256 KiB. */
  readonly batchBytes: number;
  /** Buffered in memory before spilling to the file. Default 8 MiB. */
  readonly memoryBytes: number;
  /**
   * Buffered in all (memory and file) before the job's output reading pauses until delivery
   * catches up. Default 512 MiB.
   */
  readonly maxBytes: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  batchBytes: 256 * 1024,
  memoryBytes: 8 * 1024 * 1024,
  maxBytes: 512 * 1024 * 1024,
};

interface Entry {
  readonly seq: number;
  /** `{"eventSeq":…,"event":…}` */
  readonly json: string;
  readonly bytes: number;
}

export interface Batch {
  /** NumberedEvent JSON texts, in order. */
  readonly events: readonly string[];
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export class Outbox {
  private nextSeq = 1;
  private ackedSeq = 0;
  /** The oldest unacknowledged events; the spill file holds the ones after them. */
  private memory: Entry[] = [];
  private memoryBytes = 0;
  private readonly spill: SpillFile;
  /** The seq of the first event in the spill file. */
  private spillSeq = 0;
  private spillBroken = false;
  private finishedSeq: number | null = null;
  private drained: Array<() => void> = [];

  constructor(
    spillPath: string,
    private readonly limits: OutboxLimits,
    private readonly warn: (line: string) => void,
  ) {
    this.spill = new SpillFile(spillPath);
  }

  /** The highest eventSeq the server has acknowledged. */
  get acked(): number {
    return this.ackedSeq;
  }

  /** Events numbered so far. */
  get numbered(): number {
    return this.nextSeq - 1;
  }

  get empty(): boolean {
    return this.ackedSeq >= this.nextSeq - 1;
  }

  /** The job-finished event is numbered and acknowledged: nothing more will ever be sent. */
  get complete(): boolean {
    return this.finishedSeq !== null && this.ackedSeq >= this.finishedSeq;
  }

  get bufferedBytes(): number {
    return this.memoryBytes + this.spill.bytes;
  }

  add(event: AgentEvent): void {
    const seq = this.nextSeq++;
    if (event.type === 'job-finished') this.finishedSeq = seq;
    const json = JSON.stringify({ eventSeq: seq, event });
    const bytes = Buffer.byteLength(json, 'utf8');
    if (
      !this.spillBroken &&
      (this.spill.count > 0 || this.memoryBytes + bytes > this.limits.memoryBytes)
    ) {
      try {
        if (this.spill.count === 0) this.spillSeq = seq;
        this.spill.append(json);
        return;
      } catch (e) {
        // Memory it is, then (what was spilled comes back first, to keep the order); backpressure
        // now starts at the memory limit.
        this.spillBroken = true;
        this.warn(
          `cannot buffer events in ${this.spill.path} (${(e as Error).message}); keeping them in memory`,
        );
        while (this.spill.count > 0) this.pullSpilled(Infinity);
      }
    }
    this.memory.push({ seq, json, bytes });
    this.memoryBytes += bytes;
  }

  /** The oldest unacknowledged events, up to the batch size; null when there are none. */
  batch(): Batch | null {
    this.refill();
    const first = this.memory[0];
    if (first === undefined) return null;
    const events: string[] = [];
    let size = 0;
    let last = first.seq;
    for (const e of this.memory) {
      if (events.length > 0 && size + e.bytes > this.limits.batchBytes) break;
      events.push(e.json);
      size += e.bytes;
      last = e.seq;
    }
    return { events, firstSeq: first.seq, lastSeq: last };
  }

  /** The server has stored everything up to `seq`; an ack can never go backwards. */
  ack(seq: number): void {
    if (!Number.isInteger(seq) || seq <= this.ackedSeq) return;
    this.ackedSeq = Math.min(seq, this.nextSeq - 1);
    let drop = 0;
    while (drop < this.memory.length && this.memory[drop]!.seq <= this.ackedSeq) {
      this.memoryBytes -= this.memory[drop]!.bytes;
      drop++;
    }
    this.memory.splice(0, drop);
    // An ack past what memory held (a server that kept more than it said earlier) skips spilled ones.
    while (this.memory.length === 0 && this.spill.count > 0 && this.spillSeq <= this.ackedSeq) {
      const skipped = this.spill.shift(1).length;
      this.spillSeq += skipped;
    }
    if (this.bufferedBytes <= this.limit() / 2 || this.empty) {
      const waiters = this.drained;
      this.drained = [];
      for (const w of waiters) w();
    }
  }

  /**
   * For runJob's backpressure: a promise while more than the limit is buffered (the step then blocks
   * on a full pipe until delivery has caught up to half of it), else undefined.
   */
  backpressure(): Promise<void> | undefined {
    if (this.bufferedBytes <= this.limit()) return undefined;
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Buffered bytes past which the job is held: the memory limit once the disk has failed. */
  private limit(): number {
    return this.spillBroken ? this.limits.memoryBytes : this.limits.maxBytes;
  }

  /** Drops everything and removes the spill file; waiters are released. */
  dispose(): void {
    this.memory = [];
    this.memoryBytes = 0;
    this.spill.dispose();
    const waiters = this.drained;
    this.drained = [];
    for (const w of waiters) w();
  }

  /** Moves spilled events back into memory while there is room (always at least one batch). */
  private refill(): void {
    while (
      this.spill.count > 0 &&
      (this.memory.length === 0 ||
        this.memoryBytes < this.limits.memoryBytes - this.limits.batchBytes)
    ) {
      this.pullSpilled(this.limits.batchBytes);
    }
  }

  private pullSpilled(maxBytes: number): void {
    for (const json of this.spill.shift(maxBytes)) {
      const bytes = Buffer.byteLength(json, 'utf8');
      this.memory.push({ seq: this.spillSeq++, json, bytes });
      this.memoryBytes += bytes;
    }
  }
}
