// The seam for the manifest ops that move files to and from the object store (artifacts, caches).
// The runner only sequences these; an implementation (src/agent/objects/) does the work.

import type { Op } from '../protocol/plan.js';
import type { StageJob } from '../protocol/agent.js';

export type StoreOp = Extract<Op, { op: 'STORE' }>;
export type FetchOp = Extract<Op, { op: 'FETCH' }>;
export type CacheRestoreOp = Extract<Op, { op: 'CACHE_RESTORE' }>;
export type CacheSaveOp = Extract<Op, { op: 'CACHE_SAVE' }>;

export interface ObjectOpContext {
  readonly job: StageJob;
  /** The job's workspace (absolute). */
  readonly workspace: string;
  /** The environment steps see at this point (baseEnv + SETVARS). */
  readonly env: Readonly<Record<string, string>>;
  /** Aborted when the job is cancelled or runs out of time; stop promptly. */
  readonly signal: AbortSignal;
}

export interface ArtifactRecord {
  readonly name: string;
  readonly digest: string;
  readonly size: number;
  readonly files: number;
}

export interface ObjectOpResult {
  /** False fails the stage with `message`. A cache miss is ok: true. */
  readonly ok: boolean;
  /** One line for the stage log when ok is false (and otherwise ''), e.g. "artifact 'dist' not found". */
  readonly message: string;
  /** Lines for the stage log (cache hit/miss, sizes); the runner masks them. */
  readonly log: readonly string[];
  /** What was stored or saved, reported in job-finished. */
  readonly artifact?: ArtifactRecord;
}

export interface ObjectOps {
  store(op: StoreOp, ctx: ObjectOpContext): Promise<ObjectOpResult>;
  fetch(op: FetchOp, ctx: ObjectOpContext): Promise<ObjectOpResult>;
  cacheRestore(op: CacheRestoreOp, ctx: ObjectOpContext): Promise<ObjectOpResult>;
  cacheSave(op: CacheSaveOp, ctx: ObjectOpContext): Promise<ObjectOpResult>;
}

export const NO_OBJECTS_MESSAGE = 'artifacts and caches are not available on this agent';
