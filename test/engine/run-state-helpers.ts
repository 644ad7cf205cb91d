// Builds plans from small pipeline texts and drives a RunMachine by hand, for the pure state
// machine tests and the replay recorder.

import { loadProgramFromSource, SourceFile } from '../../src/lang/index.js';
import { compilePlan } from '../../src/plan/index.js';
import type { Plan, PlanContext } from '../../src/protocol/plan.js';
import { RunMachine, type Command, type RunEvent } from '../../src/engine/index.js';

export const UNIT_CONTEXT: PlanContext = {
  event: 'push',
  branch: 'main',
  tag: '',
  sha: '1111111111111111111111111111111111111111',
  base: '',
  vars: {},
  changedFiles: [],
};

/** The plan of a pipeline text (throws with the diagnostics when it does not compile). */
export function planOf(text: string): Plan {
  const program = loadProgramFromSource(new SourceFile('/unit/Ottofile', text));
  const { plan, diagnostics } = compilePlan(program, {
    context: UNIT_CONTEXT,
    project: 'unit',
    libraryPins: [],
  });
  if (!plan)
    throw new Error(
      `the test pipeline does not compile:\n${diagnostics.map((d) => d.message).join('\n')}`,
    );
  return plan;
}

type Without<E> = E extends unknown ? Omit<E, 'at'> : never;
export type EventInput = Without<RunEvent>;

/** A RunMachine with a fake clock: each event is 10 ms after the previous one. */
export class Driver {
  readonly m = new RunMachine();
  private t = 1_000_000;
  readonly history: Array<{ event: RunEvent; commands: Command[] }> = [];

  constructor(plan?: Plan) {
    if (plan) this.apply({ type: 'run.created', plan });
  }

  apply(e: EventInput): Command[] {
    this.t += 10;
    const event = { ...e, at: this.t } as RunEvent;
    const commands = this.m.apply(event);
    this.history.push({ event, commands });
    return commands;
  }

  start(): Command[] {
    return this.apply({ type: 'run.started', owner: '1@test' });
  }

  dispatched(stage: string, attempt = this.attempt(stage)): Command[] {
    return this.apply({
      type: 'stage.dispatched',
      stage,
      attempt,
      jobId: `${stage}#${attempt}`,
      agent: 'local',
    });
  }

  finished(
    stage: string,
    outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled',
    attempt = this.attempt(stage),
    message = outcome === 'succeeded' ? '' : `it ${outcome}`,
  ): Command[] {
    return this.apply({ type: 'job.finished', stage, attempt, outcome, message, lastSeq: 0 });
  }

  /** Dispatches and finishes the current attempt of a stage. */
  run(
    stage: string,
    outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' = 'succeeded',
  ): Command[] {
    this.dispatched(stage);
    return this.finished(stage, outcome);
  }

  status(stage: string): string {
    const s = this.m.stages.get(stage);
    if (!s) throw new Error(`no stage ${stage}`);
    return s.status;
  }

  attempt(stage: string): number {
    return this.m.stages.get(stage)?.attempt ?? 0;
  }

  message(stage: string): string {
    return this.m.stages.get(stage)?.message ?? '';
  }

  statuses(): Record<string, string> {
    return Object.fromEntries(this.m.order.map((p) => [p, this.status(p)]));
  }
}

/** Commands without the bulky gate definitions, for readable assertions. */
export function brief(commands: readonly Command[]): string[] {
  return commands.map((c) => {
    switch (c.type) {
      case 'dispatch':
        return `dispatch ${c.stage}#${c.attempt}`;
      case 'cancel-job':
        return `cancel-job ${c.stage}#${c.attempt}`;
      case 'open-gate':
      case 'close-gate':
        return `${c.type} ${c.stage} ${c.phase}[${c.index}]`;
      case 'acquire-lock':
      case 'release-lock':
        return `${c.type} ${c.lock} ${c.stage}`;
      case 'finish-run':
        return `finish-run ${c.status}`;
      case 'notify':
        return `notify ${c.stage} ${c.outcome}`;
      case 'record-deployment':
        return `record-deployment ${c.stage} ${c.environment} ${c.status}`;
    }
  });
}
