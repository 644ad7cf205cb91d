// Runs one RUNPROC op's process and pipes its output through masking into the batcher (as bytes).

import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Op, PlanRuntime } from '../protocol/plan.js';
import { libraryDirectory, sandboxArgv } from './sandbox.js';
import type { LogBatcher } from './log-batcher.js';
import type { Masker } from './masking.js';
import { runProcess, shellArgv, type OutputStream, type ProcessResult } from './process.js';

export type RunProcOp = Extract<Op, { op: 'RUNPROC' }>;

/** The variable naming a library step's invocation file (JSON of the op's `invocation`). */
export const INVOCATION_ENV = 'OTTO_INVOCATION';

export interface StepContext {
  readonly env: Readonly<Record<string, string>>;
  /** Absolute, already checked to be inside the workspace. */
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly graceMs: number;
  readonly signal: AbortSignal;
  readonly masker: Masker;
  readonly batcher: LogBatcher;
  /** A private directory for files the agent hands the step (outside the workspace). */
  readonly scratchDir: () => Promise<string>;
  readonly backpressure?: () => Promise<void> | undefined;
  /** The workspace root, for `project:` library directories and the sandbox. */
  readonly workspace: string;
  readonly libraryRoot?: string;
  readonly runtime?: PlanRuntime;
}

export async function runStep(op: RunProcOp, ctx: StepContext): Promise<ProcessResult> {
  let argv: string[];
  let env = ctx.env;
  if (op.command.length > 0) {
    const [entry, ...args] = op.command;
    const dir = libraryDirectory(op.libraryDir, ctx.workspace, ctx.libraryRoot);
    if (typeof dir !== 'string') throw new Error(dir.error);
    argv = [resolve(dir, entry!), ...args];
    const file = join(await ctx.scratchDir(), `invocation-${op.step}.json`);
    await writeFile(file, JSON.stringify(op.invocation ?? null));
    env = { ...env, [INVOCATION_ENV]: file };
  } else {
    argv = shellArgv(op.script);
  }

  const masks = { stdout: ctx.masker.stream(), stderr: ctx.masker.stream() };
  const onOutput = (stream: OutputStream, data: Buffer): Promise<void> | undefined => {
    ctx.batcher.write(op.step, stream, masks[stream].write(data));
    return ctx.backpressure?.();
  };

  const result = await runProcess({
    argv: sandboxArgv(argv, ctx.runtime, ctx.workspace, ctx.cwd),
    cwd: ctx.cwd,
    env,
    timeoutMs: ctx.timeoutMs,
    graceMs: ctx.graceMs,
    signal: ctx.signal,
    onOutput,
  });
  for (const stream of ['stdout', 'stderr'] as const) ctx.batcher.write(op.step, stream, masks[stream].flush());
  ctx.batcher.flush();
  return result;
}
