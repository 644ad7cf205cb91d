// Fixtures shared by the conformance cases: records to store and the per-test store wrapper.

import type { CreateRunInput, Store } from '../../../src/store/index.js';
import type { Plan } from '../../../src/protocol/plan.js';
import type {
  AgentRecord,
  LogRecord,
  NewEvent,
  StageRecord,
  TriggerInfo,
} from '../../../src/store/types.js';

/**
 * Wraps a case: opens a fresh store (and, through `shared`, more stores over the same storage)
 * and closes them all afterwards.
 */
export type WithStore = (
  fn: (store: Store, shared: () => Promise<Store>) => Promise<void>,
) => () => Promise<void>;

export const TRIGGER: TriggerInfo = {
  event: 'push',
  branch: 'main',
  tag: '',
  sha: 'abc123',
  actor: 'alice',
};

/**
 * The store keeps a plan as opaque JSON (only planHash is read), so this one is shaped like a plan
 * without following every field the protocol grows.
 */
export const PLAN = {
  apiVersion: 'otto.plan/v1',
  planHash: 'sha256:plan-hash',
  pipeline: { name: 'build', timeoutMs: 3_600_000, concurrency: null },
  context: {
    event: 'push',
    branch: 'main',
    tag: '',
    sha: 'abc123',
    base: '',
    vars: { A: 'ä "quoted" \u0000' },
    changedFiles: ['src/a.ts'],
  },
  sources: [{ path: 'Ottofile', sha256: 'f'.repeat(64) }],
  libraries: [],
  environments: [
    { name: 'prod', url: 'https://example.com', settings: { z: '1', a: '2' }, credentials: [] },
  ],
  configure: {},
  stages: [],
  notes: ['a note'],
} as unknown as Plan;

export function runInput(over: Partial<CreateRunInput> = {}): CreateRunInput {
  return {
    project: 'web',
    plan: null,
    pipeline: 'build',
    trigger: TRIGGER,
    status: 'queued',
    owner: null,
    at: 1_700_000_000_000,
    ...over,
  };
}

export function stage(path: string, over: Partial<StageRecord> = {}): StageRecord {
  return {
    runId: '',
    path,
    status: 'pending',
    attempt: 0,
    startedAt: null,
    finishedAt: null,
    message: '',
    exitCode: null,
    ...over,
  };
}

export function ev(type: string, n = 0): NewEvent {
  return { type, at: 1_700_000_000_000 + n, data: { n } };
}

export function log(seq: number, text: string, over: Partial<LogRecord> = {}): LogRecord {
  return { stage: 'ignored', attempt: 0, seq, step: 0, stream: 'stdout', text, ...over };
}

export function agent(
  name: string,
  at: number,
  over: Partial<Omit<AgentRecord, 'id' | 'registeredAt'>> = {},
): Omit<AgentRecord, 'id' | 'registeredAt'> & { at: number } {
  return {
    name,
    labels: ['linux'],
    capabilities: ['sandbox'],
    maxJobs: 2,
    version: '0.1.0',
    lastSeenAt: at,
    at,
    ...over,
  };
}
