// Decides what a finished step process means: its step status and whether it stops the stage.

import type { StageOutcome, StepStatus } from '../protocol/agent.js';
import { formatMs } from './job-clock.js';
import type { ProcessResult } from './process.js';
import type { RunProcOp } from './step.js';

export interface StageFailure {
  readonly outcome: Exclude<StageOutcome, 'succeeded'>;
  readonly message: string;
}

export interface StepVerdict {
  readonly status: StepStatus;
  /** For step-finished; '' on plain success. */
  readonly message: string;
  /** Null when the stage goes on. */
  readonly failure: StageFailure | null;
}

/**
 * `stageStop` is why the job's own clock stopped it (cancel or stage timeout), if it did;
 * `stageLimitBound` says the step's time limit was the stage's remaining time, not its own timeout.
 */
export function judgeStep(
  op: Pick<RunProcOp, 'label' | 'timeoutS' | 'returnStatus'>,
  r: ProcessResult,
  stageStop: StageFailure | null,
  stageLimitBound: boolean,
): StepVerdict {
  const step = `step '${op.label}'`;
  if (r.error !== null) {
    const message = `could not start: ${r.error}`;
    return {
      status: 'failed',
      message,
      failure: { outcome: 'failed', message: `${step} ${message}` },
    };
  }
  if ((r.timedOut && stageLimitBound) || (r.cancelled && stageStop?.outcome === 'timed_out')) {
    const failure = stageStop ?? {
      outcome: 'timed_out',
      message: `the stage timed out during ${step}`,
    };
    return { status: 'timed_out', message: 'stopped: the stage ran out of time', failure };
  }
  if (r.cancelled) {
    const failure = stageStop ?? { outcome: 'cancelled', message: 'the stage was cancelled' };
    return { status: 'cancelled', message: 'stopped: the stage was cancelled', failure };
  }
  if (r.timedOut) {
    const message = `timed out after ${formatMs(op.timeoutS * 1000)}`;
    return {
      status: 'timed_out',
      message,
      failure: { outcome: 'failed', message: `${step} ${message}` },
    };
  }
  if (r.exitCode === 0) return { status: 'succeeded', message: '', failure: null };
  const how =
    r.exitCode !== null ? `exit status ${r.exitCode}` : `killed by ${r.signal ?? 'a signal'}`;
  if (op.returnStatus) {
    return {
      status: 'succeeded',
      message: `${how} (returnStatus: recorded, the stage goes on)`,
      failure: null,
    };
  }
  return {
    status: 'failed',
    message: how,
    failure: { outcome: 'failed', message: `${step} failed: ${how}` },
  };
}
