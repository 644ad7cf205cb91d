// One assigned job on a remote agent: its workspace is prepared here, then it runs through runJob
// exactly as in local mode, and every event goes into the job's outbox, numbered from 1.

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AssignedJob } from '../../protocol/agent-http.js';
import type { AgentEvent, StageJob, StageOutcome } from '../../protocol/agent.js';
import type { LogBatcherOptions } from '../log-batcher.js';
import { Masker } from '../masking.js';
import type { ObjectOps } from '../object-ops.js';
import { runJob } from '../runner.js';
import { Outbox, type OutboxLimits } from './outbox.js';
import { jobFileName } from './paths.js';
import type { AgentWorkspaces } from './workspaces.js';

export interface RemoteJobContext {
  readonly agentName: string;
  readonly labels: readonly string[];
  readonly capabilities: readonly string[];
  readonly workspaces: AgentWorkspaces;
  /** The agent's library cache: every job's `libraryRoot`. */
  readonly libraryRoot: string;
  /** PATH, HOME, … of this machine: they replace the orchestrator's in the job's baseEnv. */
  readonly machineEnv: Readonly<Record<string, string>>;
  readonly objects?: ObjectOps;
  readonly spoolDir: string;
  readonly outbox: OutboxLimits;
  readonly batcher?: LogBatcherOptions;
  readonly warn: (line: string) => void;
  /** Called after each event is queued, to get it delivered. */
  readonly queued: (job: RemoteJob) => void;
}

export class RemoteJob {
  readonly jobId: string;
  readonly outbox: Outbox;
  private readonly controller = new AbortController();
  private readonly masker: Masker;
  private readonly started = performance.now();
  /** Log chunks the agent itself wrote before the runner's (runner seqs are shifted past them). */
  private ownChunks = 0;
  private droppedBecause: string | null = null;
  outcome: StageOutcome | null = null;
  /** Set by the agent's delivery loop while it is sending this job's events. */
  sending = false;

  constructor(
    readonly assigned: AssignedJob,
    /** Why the assignment cannot run (assignmentProblem), or null. */
    private readonly problem: string | null,
    private readonly ctx: RemoteJobContext,
  ) {
    this.jobId = assigned.job.jobId;
    this.outbox = new Outbox(
      join(ctx.spoolDir, `${jobFileName(this.jobId)}.jsonl`),
      ctx.outbox,
      ctx.warn,
    );
    const job = assigned.job;
    const values = problem === null ? [...Object.values(job.secrets), ...job.maskValues] : [];
    this.masker = new Masker(values.filter((v): v is string => typeof v === 'string'));
  }

  get dropped(): boolean {
    return this.droppedBecause !== null;
  }

  /** Stops the job: its processes get SIGTERM, then SIGKILL after the job's grace period. */
  cancel(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** The server disowned the job: stop it and forget its events. */
  drop(reason: string): void {
    this.droppedBecause ??= reason;
    this.cancel(reason);
    this.outbox.dispose();
  }

  /** Runs the job to its job-finished event. Never rejects. */
  async run(): Promise<void> {
    // First, before any slow preparation: the server learns at once that the job has started.
    this.emit({ type: 'job-started', jobId: this.jobId, at: Date.now() });
    const refusal = this.problem ?? this.refusal();
    if (refusal !== null) return this.finishUnstarted('failed', refusal);
    const signal = this.controller.signal;
    let dir: string;
    try {
      if (signal.aborted) return this.finishUnstarted('cancelled', stopReason(signal));
      const ws = await this.ctx.workspaces.prepare(this.assigned, signal);
      this.systemLines(ws.lines);
      dir = ws.dir;
    } catch (e) {
      if (signal.aborted) return this.finishUnstarted('cancelled', stopReason(signal));
      return this.finishUnstarted(
        'failed',
        `could not prepare the workspace: ${(e as Error).message}`,
      );
    }
    const job: StageJob = {
      ...this.assigned.job,
      workspace: dir,
      libraryRoot: this.ctx.libraryRoot,
      baseEnv: { ...this.assigned.job.baseEnv, ...this.ctx.machineEnv },
    };
    try {
      await runJob(job, (e) => this.forward(e), signal, this.ctx.objects, {
        backpressure: () => this.outbox.backpressure(),
        ...(this.ctx.batcher ? { batcher: this.ctx.batcher } : {}),
      });
    } catch (e) {
      // runJob never rejects; should it ever, the stage still gets its ending.
      if (this.outcome === null)
        this.finishUnstarted('failed', `the agent failed: ${(e as Error).message}`);
    }
  }

  /** Why this agent must not run the job even though it was assigned here, or null. */
  private refusal(): string | null {
    const runtime = this.assigned.job.runtime;
    if (runtime === undefined || runtime.kind === 'local') return null;
    const offers = `agent ${this.ctx.agentName} offers ${this.ctx.capabilities.join(', ')}`;
    if (runtime.kind === 'computer') {
      return this.ctx.labels.includes(runtime.label)
        ? null
        : `this stage needs an agent labelled '${runtime.label}'; agent ${this.ctx.agentName} has labels: ${this.ctx.labels.join(', ') || '(none)'}`;
    }
    return this.ctx.capabilities.includes(runtime.kind)
      ? null
      : `this stage needs the ${runtime.kind} runtime; ${offers}`;
  }

  /** The runner's events, with its log seqs moved past the agent's own lines. */
  private forward(e: AgentEvent): void {
    const shift = this.ownChunks;
    if (e.type === 'job-started') return; // sent already, before the workspace was prepared
    if (e.type === 'logs' && shift > 0) {
      this.emit({ ...e, chunks: e.chunks.map((c) => ({ ...c, seq: c.seq + shift })) });
    } else if (e.type === 'job-finished') {
      this.outcome = e.outcome;
      this.emit({ ...e, lastSeq: e.lastSeq + shift });
    } else {
      this.emit(e);
    }
  }

  /** Ends a job that never reached the runner, with the step list complete as the runner would have it. */
  private finishUnstarted(outcome: StageOutcome, message: string): void {
    const text = this.masker.maskText(message);
    this.systemLines([text]);
    const steps = new Set<number>();
    for (const op of Array.isArray(this.assigned.job.ops) ? this.assigned.job.ops : []) {
      if ((op.op !== 'RUNPROC' && op.op !== 'EMIT') || steps.has(op.step)) continue;
      steps.add(op.step);
      this.emit({
        type: 'step-finished',
        jobId: this.jobId,
        step: op.step,
        status: 'skipped',
        exitCode: null,
        signal: null,
        durationMs: 0,
        message: 'not run: the stage stopped earlier',
      });
    }
    this.outcome = outcome;
    this.emit({
      type: 'job-finished',
      jobId: this.jobId,
      outcome,
      message: text,
      durationMs: Math.round(performance.now() - this.started),
      lastSeq: this.ownChunks,
      artifacts: [],
    });
  }

  private systemLines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const chunks = lines.map((line) => ({
      seq: ++this.ownChunks,
      step: null,
      stream: 'system' as const,
      text: `${this.masker.maskText(line)}\n`,
    }));
    this.emit({ type: 'logs', jobId: this.jobId, chunks });
  }

  private emit(e: AgentEvent): void {
    if (this.dropped) return;
    this.outbox.add(e);
    this.ctx.queued(this);
  }
}

function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'the job was cancelled';
}
