// A run's event log as the orchestrator sees it. Events are appended to the store — together with
// the stage and run summaries they change, in one transaction — before anything acts on them.
// Events other processes appended (a cancel, an approval) are folded in before ours, in log order.

import type { Store } from '../store/store.js';
import type { NewEvent, StoredEvent } from '../store/types.js';
import type { Command, RunEvent } from './events.js';
import { RunMachine } from './run-state.js';

export function toNew(e: RunEvent): NewEvent {
  const { type, at, ...data } = e;
  return { type, at, data };
}

export function fromStored(e: StoredEvent): RunEvent {
  return { type: e.type, at: e.at, ...e.data } as RunEvent;
}

export class EventLog {
  private current: RunMachine;
  /** Every event known to be in the store, in order: the machine can always be rebuilt from it. */
  private readonly confirmed: RunEvent[];
  private lastSeq: number;

  private constructor(
    private readonly store: Store,
    readonly runId: string,
    confirmed: RunEvent[],
    lastSeq: number,
  ) {
    this.confirmed = confirmed;
    this.current = RunMachine.fold(confirmed);
    this.lastSeq = lastSeq;
  }

  static async open(store: Store, runId: string): Promise<EventLog> {
    const events = await store.readEvents(runId);
    return new EventLog(store, runId, events.map(fromStored), events.length ? (events[events.length - 1] as StoredEvent).seq : 0);
  }

  get machine(): RunMachine {
    return this.current;
  }

  get seq(): number {
    return this.lastSeq;
  }

  get events(): readonly RunEvent[] {
    return this.confirmed;
  }

  /**
   * Appends events and applies them; returns the commands they (and any events other processes
   * appended first) produced. An empty list just folds in others' events.
   */
  async append(events: readonly RunEvent[]): Promise<Command[]> {
    const commands: Command[] = [];
    for (;;) {
      const mine: Command[] = [];
      for (const e of events) mine.push(...this.current.apply(e));
      const stages = this.current.takeChanged(this.runId);
      const m = this.current;
      const result = await this.store.appendEvents(this.runId, events.map(toNew), this.lastSeq, {
        run: { status: m.status, startedAt: m.startedAt, finishedAt: m.finishedAt, message: m.message },
        stages,
      });
      if (result.ok) {
        this.lastSeq = result.lastSeq;
        this.confirmed.push(...events);
        return [...commands, ...mine];
      }
      // Someone else appended: forget our tentative state, fold theirs in, then try ours again.
      commands.push(...(await this.resync()));
    }
  }

  private async resync(): Promise<Command[]> {
    const fresh = await this.store.readEvents(this.runId, this.lastSeq);
    this.current = RunMachine.fold(this.confirmed);
    this.current.takeChanged(this.runId);
    const commands: Command[] = [];
    for (const e of fresh) {
      const ev = fromStored(e);
      commands.push(...this.current.apply(ev));
      this.confirmed.push(ev);
      this.lastSeq = e.seq;
    }
    // Stages the resync touched are written with our next append.
    return commands;
  }

  /** Whether others appended since we last looked (cheap: one row). */
  async hasNews(): Promise<boolean> {
    const run = await this.store.getRun(this.runId);
    return run !== undefined && run.lastSeq !== this.lastSeq;
  }
}
