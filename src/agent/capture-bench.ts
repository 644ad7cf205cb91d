// End-to-end capture benchmark: a step printing a flood of output through process, masking and batching.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AGENT_PROTOCOL_VERSION, textBytes, type AgentEvent } from '../protocol/agent.js';
import { benchSecrets } from './masking-bench.js';
import { runJob } from './runner.js';

export interface CaptureBenchOptions {
  /** Bytes the step prints. Default 100,000,000. */
  readonly bytes?: number;
  /** Secrets given to the job (all masked, none printed). Default 0. */
  readonly secrets?: number;
}

export interface CaptureBenchResult {
  readonly mbPerSecond: number;
  readonly bytesLogged: number;
  readonly chunks: number;
}

/** Runs `yes 0123456789 | head -c N` as a one-step job and measures job-started → job-finished. */
export async function benchCapture(options: CaptureBenchOptions = {}): Promise<CaptureBenchResult> {
  const bytes = options.bytes ?? 100_000_000;
  const values = benchSecrets(options.secrets ?? 0);
  const secrets = Object.fromEntries(values.map((v, i) => [`SECRET_${i}`, v]));
  const workspace = await mkdtemp(join(tmpdir(), 'otto-bench-'));
  let logged = 0;
  let chunks = 0;
  let outcome = '';
  const emit = (e: AgentEvent): void => {
    if (e.type === 'logs') {
      // Counted as the transport sends them: bytes when the chunk has them (no decoding).
      for (const c of e.chunks) if (c.step === 0) logged += textBytes(c)?.length ?? Buffer.byteLength(c.text);
      chunks += e.chunks.length;
    } else if (e.type === 'job-finished') outcome = e.outcome;
  };
  const started = performance.now();
  try {
    await runJob(
      {
        protocol: AGENT_PROTOCOL_VERSION,
        jobId: 'bench/capture#1',
        runId: 'bench',
        stagePath: 'capture',
        attempt: 1,
        ops: [
          { op: 'BEGINCTX', stage: 'capture', workspaceFrom: null },
          { op: 'SETVARS', vars: Object.keys(secrets).map((name) => ({ name, secret: true })) },
          {
            op: 'RUNPROC',
            step: 0,
            label: 'flood',
            script: `yes 0123456789 | head -c ${bytes}`,
            command: [],
            libraryDir: '',
            invocation: null,
            cwd: '',
            timeoutS: 0,
            returnStatus: false,
          },
          { op: 'ENDCTX' },
        ],
        workspace,
        secrets,
        maskValues: [],
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeoutMs: 0,
        graceMs: 1000,
        objects: null,
        project: 'bench',
      },
      emit,
      new AbortController().signal,
    );
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  if (outcome !== 'succeeded' || logged !== bytes) {
    throw new Error(`capture bench: outcome ${outcome}, logged ${logged} of ${bytes} bytes`);
  }
  return { mbPerSecond: bytes / 1e6 / seconds, bytesLogged: logged, chunks };
}
