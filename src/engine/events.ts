// The facts a run's event log records, and the commands the run state machine asks for.
// Events are appended to the store before their commands execute (DESIGN.md §3).

import type { StageOutcome, StepStatus } from '../protocol/agent.js';
import type { Plan, PlanGate } from '../protocol/plan.js';

export type GatePhase = 'enter' | 'exit';
export type GateDecision = 'approved' | 'rejected' | 'passed' | 'failed' | 'timed_out' | 'cancelled';

/** Every event carries the orchestrator's clock at the time it was recorded. */
export type RunEvent =
  | { readonly type: 'run.created'; readonly at: number; readonly plan: Plan; readonly reused?: Readonly<Record<string, ReusedStage>> }
  | { readonly type: 'run.started'; readonly at: number; readonly owner: string }
  /** The orchestrator came back to a run it had left (a resume, a restarted server). */
  | { readonly type: 'run.resumed'; readonly at: number; readonly owner: string; readonly restartRunning: boolean }
  | { readonly type: 'run.interrupted'; readonly at: number; readonly reason: string }
  | { readonly type: 'run.cancel-requested'; readonly at: number; readonly actor: string; readonly reason: string }
  | { readonly type: 'run.timed-out'; readonly at: number }
  | {
      readonly type: 'gate.opened';
      readonly at: number;
      readonly stage: string;
      readonly phase: GatePhase;
      readonly index: number;
      /** For webhook gates: the sha256 of the callback token (the token itself is never stored). */
      readonly tokenHash?: string;
      readonly deadline: number;
    }
  | {
      readonly type: 'gate.decided';
      readonly at: number;
      readonly stage: string;
      readonly phase: GatePhase;
      readonly index: number;
      readonly decision: GateDecision;
      readonly actor: string;
      readonly comment: string;
    }
  | { readonly type: 'lock.acquired'; readonly at: number; readonly stage: string; readonly lock: string }
  | { readonly type: 'stage.dispatched'; readonly at: number; readonly stage: string; readonly attempt: number; readonly jobId: string; readonly agent: string }
  | { readonly type: 'step.started'; readonly at: number; readonly stage: string; readonly attempt: number; readonly step: number; readonly label: string }
  | {
      readonly type: 'step.finished';
      readonly at: number;
      readonly stage: string;
      readonly attempt: number;
      readonly step: number;
      readonly status: StepStatus;
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly durationMs: number;
      readonly message: string;
    }
  | {
      readonly type: 'job.finished';
      readonly at: number;
      readonly stage: string;
      readonly attempt: number;
      readonly outcome: StageOutcome;
      readonly message: string;
      readonly lastSeq: number;
    }
  | { readonly type: 'job.lost'; readonly at: number; readonly stage: string; readonly attempt: number; readonly reason: string }
  /** A queued stage no connected agent can take yet, and why. */
  | { readonly type: 'stage.waiting-for-agent'; readonly at: number; readonly stage: string; readonly attempt: number; readonly reason: string }
  | { readonly type: 'deployment.recorded'; readonly at: number; readonly stage: string; readonly environment: string; readonly status: string }
  | { readonly type: 'notification.sent'; readonly at: number; readonly stage: string; readonly kind: string; readonly ok: boolean; readonly message: string };

export type RunEventType = RunEvent['type'];

/** A stage carried over from an earlier run by `otto rerun --from-failed`. */
export interface ReusedStage {
  readonly fromRun: string;
  readonly status: 'succeeded' | 'unstable' | 'skipped';
  readonly attempt: number;
}

/** What the state machine asks the orchestrator to do. Executing one must be safe to repeat. */
export type Command =
  | { readonly type: 'open-gate'; readonly stage: string; readonly phase: GatePhase; readonly index: number; readonly gate: PlanGate }
  | { readonly type: 'close-gate'; readonly stage: string; readonly phase: GatePhase; readonly index: number }
  | { readonly type: 'acquire-lock'; readonly stage: string; readonly lock: string }
  | { readonly type: 'release-lock'; readonly stage: string; readonly lock: string }
  | { readonly type: 'dispatch'; readonly stage: string; readonly attempt: number }
  | { readonly type: 'cancel-job'; readonly stage: string; readonly attempt: number; readonly reason: string }
  | { readonly type: 'notify'; readonly stage: string; readonly outcome: 'success' | 'failure' }
  | { readonly type: 'record-deployment'; readonly stage: string; readonly environment: string; readonly status: string }
  | { readonly type: 'finish-run'; readonly status: 'succeeded' | 'failed' | 'cancelled' };
