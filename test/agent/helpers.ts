// Shared fixtures for the agent tests: temp workspaces, job builders, event collection, pid checks.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentEvent,
  type LogChunk,
  type StageJob,
} from '../../src/protocol/agent.js';
import type { Op } from '../../src/protocol/plan.js';
import { HELPER_PATH } from '../../src/agent/spawner.js';
import { shellArgv, type ProcessSpec, type Spawner } from '../../src/agent/process.js';
import { repoRoot } from '../helpers.js';

/** PATH for step processes in the process tests. */
export const PATH_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** What every process test's step has in common: a shell script, PATH only, no time limit. */
export function stepSpec(spawner: Spawner, cwd: string, script: string): Omit<ProcessSpec, 'onOutput'> {
  return { argv: shellArgv(script), cwd, env: PATH_ENV, timeoutMs: 0, graceMs: 300, spawner };
}

/** Builds the native step helper if it is missing or older than its source; the tests need it. */
export function buildSpawnHelper(): void {
  spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-native.mjs'), '--if-stale'], {
    stdio: 'inherit',
  });
  assert.ok(existsSync(HELPER_PATH), `${HELPER_PATH} is not built: these tests need a C compiler`);
}

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'otto-agent-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function runproc(
  step: number,
  script: string,
  extra: Partial<Extract<Op, { op: 'RUNPROC' }>> = {},
): Op {
  return {
    op: 'RUNPROC',
    step,
    label: `step ${step}`,
    script,
    command: [],
    libraryDir: '',
    invocation: null,
    cwd: '',
    timeoutS: 0,
    returnStatus: false,
    ...extra,
  };
}

export function job(
  workspace: string,
  ops: readonly Op[],
  extra: Partial<StageJob> = {},
): StageJob {
  return {
    protocol: AGENT_PROTOCOL_VERSION,
    jobId: 'run1/build#1',
    runId: 'run1',
    stagePath: 'build',
    attempt: 1,
    ops: [{ op: 'BEGINCTX', stage: 'build', workspaceFrom: null }, ...ops, { op: 'ENDCTX' }],
    workspace,
    secrets: {},
    maskValues: [],
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 20_000,
    graceMs: 300,
    objects: null,
    project: 'demo',
    ...extra,
  };
}

/** Collects events; `logs(step?, stream?)` joins chunk texts in seq order. */
export class Events {
  readonly all: AgentEvent[] = [];
  readonly emit = (e: AgentEvent): void => {
    this.all.push(e);
  };

  chunks(): LogChunk[] {
    return this.all.flatMap((e) => (e.type === 'logs' ? e.chunks : []));
  }

  logs(step?: number | null, stream?: LogChunk['stream']): string {
    return this.chunks()
      .filter(
        (c) =>
          (step === undefined || c.step === step) && (stream === undefined || c.stream === stream),
      )
      .map((c) => c.text)
      .join('');
  }

  finished(): Extract<AgentEvent, { type: 'job-finished' }> {
    const f = this.all.filter((e) => e.type === 'job-finished');
    if (f.length !== 1) throw new Error(`expected one job-finished, got ${f.length}`);
    return f[0] as Extract<AgentEvent, { type: 'job-finished' }>;
  }

  steps(): Extract<AgentEvent, { type: 'step-finished' }>[] {
    return this.all.filter(
      (e): e is Extract<AgentEvent, { type: 'step-finished' }> => e.type === 'step-finished',
    );
  }
}

/** Alive and not a zombie (orphans may stay zombies where PID 1 does not reap them). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return process.platform !== 'linux';
  }
}

export async function readPid(file: string): Promise<number> {
  const n = Number((await readFile(file, 'utf8')).trim());
  if (!Number.isInteger(n) || n <= 0) throw new Error(`no pid in ${file}`);
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
