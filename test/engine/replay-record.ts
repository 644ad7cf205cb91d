// Recording and replaying run event logs: what the state machine decided at every event of a real
// run (its commands, the stage records and the run summary it produced), as a JSON fixture.

import { fromStored, RunMachine, type Command, type RunEvent } from '../../src/engine/index.js';
import type { StageRecord, Store } from '../../src/store/index.js';

export interface ReplayStep {
  /** The commands the machine answered the event with. */
  readonly commands: readonly Command[];
  /** The run as the machine saw it after the event. */
  readonly run: {
    readonly status: string;
    readonly message: string;
    readonly startedAt: number | null;
    readonly finishedAt: number | null;
  };
  /** The stage records the event changed (what the event log writes to the store with it). */
  readonly stages: readonly Omit<StageRecord, 'runId'>[];
}

export interface ReplayFixture {
  readonly name: string;
  readonly description: string;
  /** The otto commands that produced the run, for people regenerating the fixture. */
  readonly cli: readonly string[];
  readonly events: readonly RunEvent[];
  /** steps[i] is what applying events[i] produced. */
  readonly steps: readonly ReplayStep[];
}

/** Folds events through a fresh RunMachine, capturing what each one produced. */
export function decide(events: readonly RunEvent[]): ReplayStep[] {
  const m = new RunMachine();
  return events.map((e) => {
    const commands = m.apply(e);
    const stages = m.takeChanged('replay').map(({ runId: _runId, ...rest }) => rest);
    return {
      commands,
      run: {
        status: m.status,
        message: m.message,
        startedAt: m.startedAt,
        finishedAt: m.finishedAt,
      },
      stages,
    };
  });
}

/** Reads a run's events from the store and records the machine's decisions on them. */
export async function recordFixture(
  store: Store,
  runId: string,
  meta: { name: string; description: string; cli: readonly string[] },
): Promise<ReplayFixture> {
  const events = (await store.readEvents(runId)).map(fromStored);
  return { ...meta, events, steps: decide(events) };
}

/** The final stage records a fold of the events gives, for comparing with the store's projection. */
export function finalStages(events: readonly RunEvent[]): Omit<StageRecord, 'runId'>[] {
  const m = RunMachine.fold(events);
  return m.order.map((p) => {
    const { runId: _runId, ...rest } = m.stageRecord('replay', p);
    return rest;
  });
}
