// Runs one stage job: its manifest ops in order, with events and masked, batched logs to `emit`.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AgentEvent, StageJob, StageOutcome, StepStatus } from '../protocol/agent.js';
import type { Op } from '../protocol/plan.js';
import { JobClock } from './job-clock.js';
import { LogBatcher, type LogBatcherOptions } from './log-batcher.js';
import { MIN_SECRET_LENGTH, Masker } from './masking.js';
import {
  NO_OBJECTS_MESSAGE,
  type ArtifactRecord,
  type ObjectOpResult,
  type ObjectOps,
} from './object-ops.js';
import type { ProcessResult } from './process.js';
import { runStep, type RunProcOp } from './step.js';
import { judgeStep, type StageFailure } from './step-verdict.js';
import { ensureWorkspace, resolveCwd } from './workspace.js';

export interface RunJobOptions {
  /**
   * Called after each piece of step output is handed to `emit`; a returned promise pauses reading the
   * step's output until it settles (the stdio agent returns one while stdout is congested).
   */
  readonly backpressure?: () => Promise<void> | undefined;
  readonly batcher?: LogBatcherOptions;
}

/**
 * Runs the job and reports everything through `emit`, ending with exactly one job-finished (after
 * every log batch). Never rejects: an unexpected error fails the stage with its message.
 */
export async function runJob(
  job: StageJob,
  emit: (e: AgentEvent) => void,
  signal: AbortSignal,
  objects?: ObjectOps,
  options: RunJobOptions = {},
): Promise<void> {
  let run: JobRun;
  try {
    run = new JobRun(job, emit, signal, objects, options);
  } catch (e) {
    // Only a malformed job gets here (the stdio agent validates its shape first).
    const message = `the agent could not start this job: ${errorMessage(e)}`;
    emit({
      type: 'job-finished',
      jobId: job.jobId,
      outcome: 'failed',
      message,
      durationMs: 0,
      lastSeq: 0,
      artifacts: [],
    });
    return;
  }
  await run.run();
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type EmitOp = Extract<Op, { op: 'EMIT' }>;
type ObjectOp = Extract<Op, { op: 'STORE' | 'FETCH' | 'CACHE_RESTORE' | 'CACHE_SAVE' }>;

class JobRun {
  private readonly started = performance.now();
  private readonly batcher: LogBatcher;
  private readonly clock: JobClock;
  /** Every secret the job carries and every mask value, from the first op on. */
  private readonly masker: Masker;
  private env: Record<string, string>;
  private failure: StageFailure | null = null;
  private readonly artifacts: ArtifactRecord[] = [];
  /** Steps that have had a step-finished, so an EMIT for a RUNPROC's step does not report it twice. */
  private readonly reported = new Set<number>();
  private scratch: Promise<string> | null = null;

  constructor(
    private readonly job: StageJob,
    private readonly emit: (e: AgentEvent) => void,
    signal: AbortSignal,
    private readonly objects: ObjectOps | undefined,
    private readonly options: RunJobOptions,
  ) {
    this.batcher = new LogBatcher(job.jobId, emit, job.logFile ? { ...options.batcher, file: job.logFile } : options.batcher);
    this.clock = new JobClock(job.timeoutMs, signal);
    const values = [...Object.values(job.secrets ?? {}), ...(job.maskValues ?? [])];
    this.masker = new Masker(values.filter((v): v is string => typeof v === 'string'));
    this.env = { ...job.baseEnv };
  }

  async run(): Promise<void> {
    this.emit({ type: 'job-started', jobId: this.job.jobId, at: Date.now() });
    let ended = false;
    for (const op of this.job.ops) {
      this.noticeStop();
      if (this.failure !== null && !this.runsAfterFailure(op)) {
        this.skip(op);
        continue;
      }
      if (op.op === 'ENDCTX') ended = true;
      try {
        await this.runOp(op);
      } catch (e) {
        // An op that throws (a workspace that cannot be created, a full disk) fails the stage; the
        // loop goes on so later steps are reported as skipped and cleanup still runs.
        this.fail('failed', `${op.op} failed: ${errorMessage(e)}`);
      }
    }
    if (!ended) await this.endContext().catch(() => undefined);
    this.clock.dispose();
    // A cancel or timeout that lands after the last op has nothing left to stop.
    const outcome: StageOutcome = this.failure?.outcome ?? 'succeeded';
    if (this.failure !== null) this.system(this.failure.message);
    this.batcher.close();
    this.emit({
      type: 'job-finished',
      jobId: this.job.jobId,
      outcome,
      message: this.failure?.message ?? '',
      durationMs: Math.round(performance.now() - this.started),
      lastSeq: this.batcher.lastSeq,
      artifacts: this.artifacts,
    });
  }

  private async runOp(op: Op): Promise<void> {
    switch (op.op) {
      case 'BEGINCTX':
        await ensureWorkspace(this.job.workspace);
        this.system(`stage ${op.stage}: workspace ${this.job.workspace}`);
        if (op.workspaceFrom !== null)
          this.system(`starting from the workspace of stage ${op.workspaceFrom}`);
        return;
      case 'SETVARS':
        return this.setVars(op.vars);
      case 'RUNPROC':
        return this.runProc(op);
      case 'EMIT':
        return this.emitOp(op);
      case 'STORE':
      case 'FETCH':
      case 'CACHE_RESTORE':
      case 'CACHE_SAVE':
        return this.objectOp(op);
      case 'ENDCTX':
        return this.endContext();
      default:
        // Only reachable with a manifest from a newer planner than this agent.
        return this.fail(
          'failed',
          `unknown manifest op ${JSON.stringify((op as { op?: unknown }).op)}`,
        );
    }
  }

  /**
   * After a failed step only cleanup runs: caches saved `when: 'always'` and ENDCTX. A timed-out or
   * cancelled stage skips the cache save too — its time is up, or someone asked it to stop now.
   */
  private runsAfterFailure(op: Op): boolean {
    if (op.op === 'ENDCTX') return true;
    return op.op === 'CACHE_SAVE' && op.when === 'always' && this.failure?.outcome === 'failed';
  }

  private noticeStop(): void {
    const stop = this.clockFailure();
    if (stop !== null) this.fail(stop.outcome, stop.message);
  }

  private clockFailure(): StageFailure | null {
    const stop = this.clock.stopped;
    if (stop === null) return null;
    return { outcome: stop.kind === 'timeout' ? 'timed_out' : 'cancelled', message: stop.message };
  }

  private fail(outcome: StageFailure['outcome'], message: string): void {
    this.failure ??= { outcome, message };
  }

  private setVars(vars: Extract<Op, { op: 'SETVARS' }>['vars']): void {
    const missing: string[] = [];
    for (const v of vars) {
      if (!v.secret) {
        this.env[v.name] = v.value ?? '';
        continue;
      }
      const value = Object.hasOwn(this.job.secrets, v.name) ? this.job.secrets[v.name] : undefined;
      if (value === undefined) {
        missing.push(v.name);
        continue;
      }
      this.env[v.name] = value;
      if (value.length < MIN_SECRET_LENGTH) {
        this.system(
          `warning: secret ${v.name} is shorter than ${MIN_SECRET_LENGTH} characters and is not masked in logs`,
        );
      }
    }
    if (missing.length > 0) {
      const names = missing.join(', ');
      this.fail(
        'failed',
        missing.length === 1
          ? `secret ${names} has no value: the orchestrator supplied none for this stage`
          : `secrets ${names} have no value: the orchestrator supplied none for this stage`,
      );
    }
  }

  private async runProc(op: RunProcOp): Promise<void> {
    const cwd = await resolveCwd(this.job.workspace, op.cwd);
    this.stepStarted(op.step, op.label);
    if ('error' in cwd) {
      this.system(cwd.error);
      this.stepFinished(op.step, 'failed', null, cwd.error);
      this.fail('failed', `step '${op.label}': ${cwd.error}`);
      return;
    }
    const stepLimit = op.timeoutS > 0 ? op.timeoutS * 1000 : Infinity;
    const jobLeft = this.clock.remainingMs();
    let result: ProcessResult;
    try {
      result = await runStep(op, {
        env: this.env,
        cwd: cwd.dir,
        timeoutMs: Math.min(stepLimit, jobLeft),
        graceMs: this.job.graceMs,
        signal: this.clock.signal,
        masker: this.masker,
        batcher: this.batcher,
        scratchDir: () => (this.scratch ??= mkdtemp(join(tmpdir(), 'otto-job-'))),
        backpressure: this.options.backpressure,
        workspace: this.job.workspace,
        ...(this.job.libraryRoot !== undefined ? { libraryRoot: this.job.libraryRoot } : {}),
        ...(this.job.runtime !== undefined ? { runtime: this.job.runtime } : {}),
      });
    } catch (e) {
      // Preparing the step failed (e.g. writing its invocation file): it started, so it must finish.
      const message = `could not prepare the step: ${errorMessage(e)}`;
      this.stepFinished(op.step, 'failed', null, message);
      return this.fail('failed', `step '${op.label}' ${message}`);
    }
    const verdict = judgeStep(op, result, this.clockFailure(), jobLeft <= stepLimit);
    this.stepFinished(op.step, verdict.status, result, verdict.message, result.durationMs);
    if (verdict.failure !== null) this.fail(verdict.failure.outcome, verdict.failure.message);
  }

  /** EMIT is a step of its own (echo / error) unless a RUNPROC already reported that step. */
  private emitOp(op: EmitOp): void {
    const own = !this.reported.has(op.step);
    if (own) this.stepStarted(op.step, op.kind === 'fail' ? 'error' : 'echo');
    const text = this.masker.maskText(op.message);
    this.batcher.write(op.step, op.kind === 'fail' ? 'stderr' : 'stdout', `${text}\n`);
    this.batcher.flush();
    if (op.kind === 'log') {
      if (own) this.stepFinished(op.step, 'succeeded', null, '');
      return;
    }
    if (own) this.stepFinished(op.step, 'failed', null, text);
    this.fail('failed', text);
  }

  private async objectOp(op: ObjectOp): Promise<void> {
    const what =
      op.op === 'STORE' || op.op === 'FETCH' ? `${op.op} ${op.artifact}` : `${op.op} ${op.name}`;
    // archive and unarchive are steps of their own; caches are the stage's business.
    const step = op.op === 'STORE' || op.op === 'FETCH' ? op.step : null;
    const started = Date.now();
    if (op.op === 'STORE' || op.op === 'FETCH') this.stepStarted(op.step, `${op.op === 'STORE' ? 'archive' : 'unarchive'} ${op.artifact}`);
    if (this.objects === undefined) {
      if (step !== null) this.stepFinished(step, 'failed', null, NO_OBJECTS_MESSAGE, Date.now() - started);
      return this.fail('failed', NO_OBJECTS_MESSAGE);
    }
    const ctx = {
      job: this.job,
      workspace: this.job.workspace,
      env: { ...this.env },
      signal: this.clock.signal,
    };
    let result: ObjectOpResult;
    try {
      if (op.op === 'STORE') result = await this.objects.store(op, ctx);
      else if (op.op === 'FETCH') result = await this.objects.fetch(op, ctx);
      else if (op.op === 'CACHE_RESTORE') result = await this.objects.cacheRestore(op, ctx);
      else result = await this.objects.cacheSave(op, ctx);
    } catch (e) {
      result = { ok: false, message: errorMessage(e), log: [] };
    }
    for (const line of result.log) this.system(line);
    if (result.artifact !== undefined) this.artifacts.push(result.artifact);
    this.noticeStop();
    if (step !== null) this.stepFinished(step, result.ok ? 'succeeded' : 'failed', null, result.ok ? '' : result.message, Date.now() - started);
    // The failure's message reaches the log once, when the job ends.
    if (!result.ok) this.fail('failed', `${what}: ${result.message}`);
  }

  private async endContext(): Promise<void> {
    if (this.scratch === null) return;
    const dir = await this.scratch.catch(() => null);
    this.scratch = null;
    if (dir !== null) await rm(dir, { recursive: true, force: true });
  }

  /** A step the stage never reached: reported so the step list is complete. */
  private skip(op: Op): void {
    if ((op.op === 'RUNPROC' || op.op === 'EMIT' || op.op === 'STORE' || op.op === 'FETCH') && !this.reported.has(op.step)) {
      this.stepFinished(op.step, 'skipped', null, 'not run: the stage stopped earlier');
    }
  }

  private stepStarted(step: number, label: string): void {
    this.batcher.flush();
    this.emit({ type: 'step-started', jobId: this.job.jobId, step, label, at: Date.now() });
  }

  private stepFinished(
    step: number,
    status: StepStatus,
    r: ProcessResult | null,
    message: string,
    durationMs = 0,
  ): void {
    this.batcher.flush();
    this.reported.add(step);
    this.emit({
      type: 'step-finished',
      jobId: this.job.jobId,
      step,
      status,
      exitCode: r?.exitCode ?? null,
      signal: r?.signal ?? null,
      durationMs,
      message: this.masker.maskText(message),
    });
  }

  /** The agent's own line in the stage log (masked: messages can quote user values). */
  private system(text: string): void {
    this.batcher.write(null, 'system', `${this.masker.maskText(text)}\n`);
  }
}
