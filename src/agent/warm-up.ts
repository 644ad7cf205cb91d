// The local agent runs a job of its own once it has said hello, while `otto run` is still planning:
// the first job of a fresh Node process pays for compiling every function on its path and for the
// step helper's first start (about 15 ms here), and every `otto run` starts a fresh agent, so its
// first stage would otherwise pay it on the run's critical path. Nothing of it is reported.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_PROTOCOL_VERSION } from '../protocol/agent.js';
import { runJob } from './runner.js';

export async function warmUp(): Promise<void> {
  let workspace: string | undefined;
  try {
    workspace = await mkdtemp(join(tmpdir(), 'otto-warm-up-'));
    await runJob(
      {
        protocol: AGENT_PROTOCOL_VERSION,
        jobId: 'warm-up/warm-up#1',
        runId: 'warm-up',
        stagePath: 'warm-up',
        attempt: 1,
        ops: [
          { op: 'BEGINCTX', stage: 'warm-up', workspaceFrom: null },
          { op: 'SETVARS', vars: [{ name: 'OTTO_WARM_UP', secret: false, value: '1' }] },
          { op: 'RUNPROC', step: 0, label: 'warm-up', script: 'true', command: [], libraryDir: '', invocation: null, cwd: '', timeoutS: 0, returnStatus: false },
          { op: 'ENDCTX' },
        ],
        workspace,
        secrets: {},
        maskValues: [],
        baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        timeoutMs: 10_000,
        graceMs: 100,
        objects: null,
        project: 'warm-up',
      },
      () => undefined,
      new AbortController().signal,
    );
  } catch {
    // Only a warm-up: the real first job will say what is wrong.
  } finally {
    if (workspace !== undefined) await rm(workspace, { recursive: true, force: true }).catch(() => undefined);
  }
}
