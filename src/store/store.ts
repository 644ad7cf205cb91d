// The store interface: the source of record for runs, shared by `otto run` and `otto serve`.
// Implementations: SQLite (embedded, the default) and PostgreSQL (scale-out).

import type { Plan } from '../protocol/plan.js';
import type { AgentJobRecord, AgentRecord, AuditRecord, ProjectRecord, Role, TokenRecord, AppendResult, DeploymentRecord, GateTokenRecord, LogRecord, NewEvent, Projection, RunFilter, RunRecord, StageRecord, StoredEvent, TriggerInfo, RunStatus, UseTokenResult } from './types.js';

export interface CreateRunInput {
  readonly project: string;
  readonly plan: Plan | null;
  readonly pipeline: string;
  readonly trigger: TriggerInfo;
  readonly status: RunStatus;
  readonly owner: string | null;
  readonly message?: string;
  readonly rerunOf?: string | null;
  readonly at: number;
  /** Diagnostics of an invalid pipeline, as JSON. */
  readonly diagnostics?: unknown;
}

export interface LockHolder {
  readonly lock: string;
  readonly runId: string;
  readonly stage: string;
  readonly owner: string;
}

export interface Store {
  createRun(input: CreateRunInput): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | undefined>;
  getPlan(id: string): Promise<Plan | undefined>;
  getDiagnostics(id: string): Promise<unknown>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  listStages(runId: string): Promise<StageRecord[]>;

  /**
   * Appends events if the run's log still ends at `expectedLastSeq` (so two writers never
   * interleave unseen), applying the projection in the same transaction.
   */
  appendEvents(runId: string, events: readonly NewEvent[], expectedLastSeq: number, projection?: Projection): Promise<AppendResult>;
  readEvents(runId: string, afterSeq?: number): Promise<StoredEvent[]>;
  setOwner(runId: string, owner: string | null): Promise<void>;

  /**
   * Takes the database's server lock for `owner` (an `otto serve`), held until released or the
   * process ends: one server drives a database's runs. Stores that only live in a server's data
   * directory (SQLite) do without; the data directory has its own lock.
   */
  holdServerLock?(owner: string): Promise<ServerLock>;
  /**
   * Where an agent on this machine may write a stage attempt's output itself (StageJob.logFile),
   * when this store keeps output in files: the file, and the offset to write from. appendLogs then
   * only indexes the chunks that say where they were written (WRITTEN_AT in src/protocol/agent.ts).
   */
  logFileFor?(runId: string, stage: string, attempt: number): Promise<{ path: string; offset: number } | undefined>;
  /**
   * Stores log chunks; a chunk already stored (same stage, attempt, seq) is ignored. A chunk whose
   * bytes were written to the attempt's file (logFileFor) is indexed where it is.
   */
  appendLogs(runId: string, stage: string, attempt: number, chunks: readonly LogRecord[]): Promise<void>;
  readLogs(runId: string, options?: { stage?: string; attempt?: number; afterSeq?: number; limit?: number }): Promise<LogRecord[]>;

  /** Joins the FIFO queue of a concurrency lock; returns this holder's place id. */
  lockEnqueue(holder: LockHolder): Promise<number>;
  /** The holder at the head of a lock's queue (the one that holds it). */
  lockHead(lock: string): Promise<(LockHolder & { id: number }) | undefined>;
  lockRelease(lock: string, runId: string, stage: string): Promise<void>;
  /** Drops queue entries of owners that are gone (their process died). */
  lockPurge(isAlive: (owner: string) => boolean): Promise<void>;

  /** Secrets, sealed by the caller (the store never sees a plain value). '' is every environment. */
  putSecret(project: string, environment: string, name: string, sealed: string, at: number): Promise<void>;
  getSecret(project: string, environment: string, name: string): Promise<string | undefined>;
  listSecrets(project: string): Promise<Array<{ environment: string; name: string; updatedAt: number }>>;
  deleteSecret(project: string, environment: string, name: string): Promise<boolean>;

  recordDeployment(d: Omit<DeploymentRecord, 'id'>): Promise<DeploymentRecord>;
  listDeployments(filter?: { project?: string; environment?: string; limit?: number }): Promise<DeploymentRecord[]>;

  /** Registers a callback token's hash for a gate. */
  createGateToken(tokenHash: string, gate: GateTokenRecord, at: number): Promise<void>;
  /** Marks a token used, once: a second use is refused. */
  useGateToken(tokenHash: string, at: number): Promise<UseTokenResult>;

  createProject(p: ProjectRecord): Promise<void>;
  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;

  /** Tokens are stored by their hash only. */
  createToken(t: { name: string; role: Role; hash: string; at: number }): Promise<TokenRecord>;
  findToken(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(id: number, at: number): Promise<boolean>;

  /** Registers an agent (the same name keeps its id) and returns it. */
  upsertAgent(a: Omit<AgentRecord, 'id' | 'registeredAt'> & { at: number }): Promise<AgentRecord>;
  listAgents(): Promise<AgentRecord[]>;
  touchAgent(id: string, at: number): Promise<void>;

  createAgentJob(j: Omit<AgentJobRecord, 'lastEventSeq' | 'finishedAt'>): Promise<void>;
  getAgentJob(jobId: string): Promise<AgentJobRecord | undefined>;
  /** Raises a job's last stored event number (never lowers it). */
  setAgentJobSeq(jobId: string, lastEventSeq: number): Promise<void>;
  finishAgentJob(jobId: string, at: number): Promise<void>;
  listAgentJobs(filter: { agentId?: string; active?: boolean; runId?: string }): Promise<AgentJobRecord[]>;

  /** Appends to the hash-chained audit log (the chain is extended inside one transaction). */
  appendAudit(r: { at: number; actor: string; action: string; target: string; details: Record<string, unknown> }): Promise<AuditRecord>;
  listAudit(filter?: { afterId?: number; limit?: number }): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

/** The outcome of Store.holdServerLock: held (release it when stopping), or who holds it. */
export type ServerLock = { readonly held: true; release(): Promise<void> } | { readonly held: false; readonly holder: string };
