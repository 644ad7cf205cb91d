// Records the store keeps: runs, their event log, stage summaries and log chunks.

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled' | 'invalid' | 'interrupted';

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

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'invalid'];

/** Who or what started a run. */
export interface TriggerInfo {
  readonly event: string;
  readonly branch: string;
  readonly tag: string;
  readonly sha: string;
  /** A person (token name, user) or a system (webhook, cron, cli). */
  readonly actor: string;
  /** When the commit was made (for lead time), if known. */
  readonly commitAt?: number | null;
}

export interface RunRecord {
  readonly id: string;
  readonly project: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly planHash: string;
  readonly trigger: TriggerInfo;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The orchestrator driving the run: `pid@host` locally, a server id in server mode. */
  readonly owner: string | null;
  readonly lastSeq: number;
  /** Why the run is invalid, failed or interrupted, in words. */
  readonly message: string;
  /** For `otto rerun`: the run this one continues. */
  readonly rerunOf: string | null;
}

export interface StageRecord {
  readonly runId: string;
  readonly path: string;
  readonly status: StageStatus;
  readonly attempt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly message: string;
  readonly exitCode: number | null;
}

export interface StoredEvent {
  readonly runId: string;
  readonly seq: number;
  readonly type: string;
  readonly at: number;
  readonly data: Record<string, unknown>;
}

export interface NewEvent {
  readonly type: string;
  readonly at: number;
  readonly data: Record<string, unknown>;
}

export interface LogRecord {
  readonly stage: string;
  readonly attempt: number;
  readonly seq: number;
  readonly step: number | null;
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly text: string;
}

export interface RunFilter {
  readonly project?: string;
  readonly status?: RunStatus;
  readonly branch?: string;
  readonly event?: string;
  readonly limit?: number;
  /** Only runs with an id (number) below this, for paging. */
  readonly before?: number;
}

/** What an event append also changes, in the same transaction. */
export interface Projection {
  readonly run?: Partial<Pick<RunRecord, 'status' | 'startedAt' | 'finishedAt' | 'message' | 'owner'>>;
  readonly stages?: readonly StageRecord[];
}

export type AppendResult = { readonly ok: true; readonly lastSeq: number } | { readonly ok: false; readonly lastSeq: number };

export interface DeploymentRecord {
  readonly id: number;
  readonly project: string;
  readonly environment: string;
  readonly runId: string;
  readonly stage: string;
  readonly sha: string;
  readonly branch: string;
  /** succeeded, unstable or failed. */
  readonly status: string;
  /** When the deployment ended. */
  readonly at: number;
  /** When the deploying stage started, for lead time. */
  readonly startedAt: number | null;
}

export interface GateTokenRecord {
  readonly runId: string;
  readonly stage: string;
  readonly phase: 'enter' | 'exit';
  readonly index: number;
}

export type UseTokenResult = { readonly ok: true; readonly gate: GateTokenRecord } | { readonly ok: false; readonly reason: 'unknown' | 'used' };

export interface ProjectRecord {
  readonly name: string;
  /** A git URL or a local path. */
  readonly repo: string;
  /** The pipeline file inside the repository. */
  readonly pipeline: string;
  readonly defaultBranch: string;
  /** The webhook secret, sealed like other secrets ('' when none). */
  readonly webhookSecret: string;
  readonly createdAt: number;
}

export type Role = 'viewer' | 'operator' | 'admin' | 'agent';

export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface AgentRecord {
  readonly id: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly capabilities: readonly string[];
  readonly maxJobs: number;
  readonly version: string;
  readonly registeredAt: number;
  readonly lastSeenAt: number;
}

export interface AgentJobRecord {
  readonly jobId: string;
  readonly runId: string;
  readonly stage: string;
  readonly attempt: number;
  readonly agentId: string;
  readonly assignedAt: number;
  /** The highest event number stored. */
  readonly lastEventSeq: number;
  readonly finishedAt: number | null;
}

export interface AuditRecord {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly details: Record<string, unknown>;
  /** The previous record's hash ('' for the first). */
  readonly prevHash: string;
  /** sha256 over prevHash and this record's fields (see src/store/audit-hash.ts). */
  readonly hash: string;
}
