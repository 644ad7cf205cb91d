// The shapes the public API returns (src/server/routes/views.ts and the routes), as the UI reads them.

export type { Plan, PlanGate, PlanStage, PlanRuntime } from '../../protocol/plan.js';

export type Role = 'viewer' | 'operator' | 'admin' | 'agent';

export interface Me {
  readonly name: string;
  readonly role: Role;
}

export const RUN_STATUSES = [
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
  'invalid',
  'interrupted',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TRIGGER_EVENTS = ['manual', 'api', 'push', 'pull_request', 'tag', 'cron'] as const;

export type StageStatus =
  | 'pending'
  | 'skipped'
  | 'waiting'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'unstable'
  | 'cancelled'
  | 'timed_out';

export interface StageView {
  readonly path: string;
  readonly status: StageStatus;
  readonly attempt: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly message: string;
  readonly exitCode: number | null;
}

export interface Trigger {
  readonly event: string;
  readonly branch: string;
  readonly tag: string;
  readonly sha: string;
  readonly actor: string;
  readonly commitAt?: number | null;
}

export type GateDecision =
  'approved' | 'rejected' | 'passed' | 'failed' | 'timed_out' | 'cancelled';

/** A gate of GET /runs/ID: a decision already made, or the one a stage waits at now. */
export type GateView =
  | {
      readonly stage: string;
      readonly phase: 'enter' | 'exit';
      readonly index: number;
      readonly decision: GateDecision;
      readonly actor: string;
      readonly comment: string;
      readonly at: string;
      readonly waiting?: undefined;
    }
  | {
      readonly stage: string;
      readonly phase: 'enter' | 'exit';
      readonly index: number;
      readonly waiting: true;
      readonly kind: 'input' | 'webhook' | 'poll';
      readonly message?: string;
      readonly approvers?: readonly string[];
      readonly description?: string;
      readonly url?: string;
      readonly decision?: undefined;
    };

export interface Diagnostic {
  readonly code: string;
  readonly severity: 'error' | 'warning' | 'info' | string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly help?: string;
}

export interface RunView {
  readonly id: string;
  readonly project: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly planHash: string;
  readonly trigger: Trigger;
  readonly createdAt: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly message: string;
  readonly rerunOf: string | null;
  readonly stages: readonly StageView[];
  readonly gates?: readonly GateView[];
  readonly diagnostics?: readonly Diagnostic[];
}

export interface RunPage {
  readonly runs: readonly RunView[];
  readonly next: number | null;
}

export interface ProjectView {
  readonly name: string;
  readonly repo: string;
  readonly pipeline: string;
  readonly defaultBranch: string;
  readonly webhook: boolean;
  readonly createdAt: string;
  readonly latestRuns?: readonly {
    readonly id: string;
    readonly status: RunStatus;
    readonly branch: string;
    readonly createdAt: string;
  }[];
}

/** One message of GET /events?run=ID. */
export interface RunEventMessage {
  readonly seq: number;
  readonly type: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
  readonly run: { readonly id: string; readonly status: RunStatus; readonly message: string };
  readonly stages: readonly StageView[];
}

export interface Deployment {
  readonly id: number;
  readonly project: string;
  readonly environment: string;
  readonly run: string;
  readonly stage: string;
  readonly sha: string;
  readonly branch: string;
  readonly status: string;
  readonly at: string;
}

export interface Dora {
  readonly environment: string;
  readonly windowDays: number;
  readonly deployments: number;
  readonly deployFrequencyPerDay: number;
  readonly leadTimeMs: number | null;
  readonly changeFailureRate: number | null;
  readonly timeToRestoreMs: number | null;
}

export interface AgentView {
  readonly id: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly capabilities: readonly string[];
  readonly maxJobs: number;
  readonly version: string;
  readonly state: 'offline' | 'busy' | 'idle';
  readonly jobs: readonly string[];
  readonly lastSeenAt: string | null;
}

export interface AuditRecord {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly details: Record<string, unknown>;
  readonly hash: string;
}

export interface Artifact {
  readonly name: string;
  /** The stage that archived it, where the server says. */
  readonly stage?: string;
  readonly files: number;
  readonly size: number;
}
