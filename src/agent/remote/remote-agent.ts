// The remote agent: registers with `otto serve`, keeps one claim long-poll open so work and
// cancels arrive within milliseconds, heartbeats, runs each job as in local mode, and delivers
// every job's numbered events until acknowledged, across server outages.

import {
  AGENT_HTTP_VERSION,
  type AssignedJob,
  type ClaimResponse,
  type RegisterResponse,
} from '../../protocol/agent-http.js';
import { assignedJobId, assignmentProblem } from './assignment.js';
import { Backoff, Connectivity } from './backoff.js';
import { EventDelivery } from './delivery.js';
import { Heartbeat } from './heartbeat.js';
import { AgentHttpClient, AgentHttpError, asHttpError } from './http-client.js';
import type { ResolvedRemoteAgentOptions } from './options.js';
import { RemoteJob, type RemoteJobContext } from './remote-job.js';
import { openWorkDir, type WorkDir } from './work-dir.js';
import { AgentWorkspaces } from './workspaces.js';

/** Longest claim wait asked for, whatever the server suggests (fetch gives up on headers at 300 s). */
const MAX_CLAIM_WAIT_MS = 120_000;

export const AGENT_EXIT = { ok: 0, failed: 1 } as const;

export class RemoteAgent {
  private readonly client: AgentHttpClient;
  private readonly connectivity: Connectivity;
  private readonly jobs = new Map<string, RemoteJob>();
  /** Jobs assigned while every slot was taken (only when two claims raced). */
  private readonly waiting: RemoteJob[] = [];
  private running = 0;
  private registration: RegisterResponse | null = null;
  private registering: Promise<boolean> | null = null;
  private stopping = false;
  /** The first registration is over (from then on, stop() finishes the shutdown itself). */
  private started = false;
  private finishing = false;
  private fatal: AgentHttpError | Error | null = null;
  /** Aborts claims when stopping; `hardStop` aborts everything else once delivery is over. */
  private readonly claimAbort = new AbortController();
  private readonly hardStop = new AbortController();
  private readonly delivery: EventDelivery;
  private readonly heartbeat: Heartbeat;
  private slotWaiters = new Set<() => void>();
  private emptyWaiters = new Set<() => void>();
  private workDir: WorkDir | null = null;
  private jobContext: RemoteJobContext | null = null;
  private resolveDone!: (code: number) => void;
  /** The exit code, once the agent has stopped and its jobs' processes are gone. */
  readonly done = new Promise<number>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly o: ResolvedRemoteAgentOptions) {
    this.client = new AgentHttpClient({
      server: o.server,
      token: o.token,
      userAgent: `otto-agent/${o.version}`,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    this.connectivity = new Connectivity(o.log);
    const fatal = (e: AgentHttpError): void => this.fail(e);
    this.delivery = new EventDelivery({
      client: this.client,
      connectivity: this.connectivity,
      backoff: o.backoff,
      requestTimeoutMs: o.requestTimeoutMs,
      signal: this.hardStop.signal,
      agentId: () => this.agentId,
      log: o.log,
      fatal,
      settled: (job) => this.settle(job),
    });
    this.heartbeat = new Heartbeat({
      client: this.client,
      connectivity: this.connectivity,
      signal: this.hardStop.signal,
      registration: () => this.registration,
      jobIds: () => [...this.jobs.keys()],
      cancel: (jobId, reason) => this.cancelJob(jobId, reason),
      disowned: (jobId) => this.disowned(jobId),
      runsHeld: () => (this.pruning ? [] : this.jobContext?.workspaces.heldRuns(this.busyRuns()) ?? []),
      prune: (runIds) => void this.prune(runIds),
      forgotten: (err) => {
        this.o.log(`the server does not know this agent (${err.message}); registering again`);
        void this.register();
      },
      fatal,
    });
  }

  /** The id the server gave this agent (after registering). */
  get agentId(): string | null {
    return this.registration?.agentId ?? null;
  }

  /** Registers, then claims and runs jobs until stop(); resolves with the exit code. */
  async start(): Promise<number> {
    try {
      this.workDir = openWorkDir(this.o.workDir);
    } catch (e) {
      this.o.log(`cannot use ${this.o.workDir}: ${(e as Error).message}`);
      this.resolveDone(AGENT_EXIT.failed);
      return this.done;
    }
    this.jobContext = {
      agentName: this.o.name,
      labels: this.o.labels,
      capabilities: this.o.capabilities,
      workspaces: new AgentWorkspaces(this.o.workDir, this.o.name, this.o.fetchTimeoutMs),
      libraryRoot: this.o.libraryRoot,
      machineEnv: this.o.machineEnv,
      objects: this.o.objects,
      spoolDir: this.workDir.spool,
      outbox: this.o.outbox,
      batcher: this.o.batcher,
      warn: this.o.log,
      queued: (job) => this.delivery.deliver(job),
    };
    if (await this.register()) {
      this.heartbeat.start();
      void this.claimLoop();
    }
    this.started = true;
    if (this.stopping) void this.finishStopping(); // stop() came during the first registration
    return this.done;
  }

  /** Stops claiming, cancels running jobs, delivers their last events (bounded), then settles `done`. Idempotent. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.claimAbort.abort();
    const active = [...this.jobs.values()].filter((j) => j.outcome === null).length;
    if (this.fatal === null)
      this.o.log(`stopping (${reason})${active > 0 ? `; cancelling ${active} job(s)` : ''}`);
    for (const job of this.jobs.values()) job.cancel(`agent ${this.o.name} is stopping: ${reason}`);
    // Waiting jobs now start and end at once as cancelled, so the server hears of them.
    while (this.waiting.length > 0) this.startJob(this.waiting.shift()!);
    if (this.started) void this.finishStopping();
  }

  private fail(e: Error): void {
    if (this.fatal !== null) return;
    this.fatal = e;
    this.o.log(e.message);
    this.stop('fatal error');
  }

  private async finishStopping(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    const unfinished = (): RemoteJob[] => [...this.jobs.values()];
    // The processes first (their grace period bounds this), then the events that report them.
    while (this.running > 0) await new Promise<void>((r) => this.slotWaiters.add(r));
    if (this.fatal === null && this.jobs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.emptyWaiters.add(r)),
        new Promise<void>((r) => (timer = setTimeout(r, this.o.drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (this.jobs.size > 0)
        this.o.log(
          `gave up delivering the last events of ${this.jobs.size} job(s) after ${this.o.drainTimeoutMs} ms`,
        );
    }
    this.hardStop.abort();
    this.heartbeat.stop();
    for (const job of unfinished()) job.outbox.dispose();
    this.jobs.clear();
    this.workDir?.release();
    this.resolveDone(this.fatal === null ? AGENT_EXIT.ok : AGENT_EXIT.failed);
  }

  // ---- registration -------------------------------------------------------------------------

  /** Registers (again), retrying until it works, the agent stops, or the server refuses it for good. */
  private register(): Promise<boolean> {
    this.registering ??= this.registerLoop().finally(() => {
      this.registering = null;
    });
    return this.registering;
  }

  private async registerLoop(): Promise<boolean> {
    const backoff = new Backoff(this.o.backoff);
    while (!this.stopping) {
      try {
        const r = await this.client.register(
          {
            protocol: AGENT_HTTP_VERSION,
            name: this.o.name,
            labels: this.o.labels,
            capabilities: this.o.capabilities,
            maxJobs: this.o.maxJobs,
            version: this.o.version,
          },
          this.o.requestTimeoutMs,
          this.claimAbort.signal,
        );
        if (typeof r?.agentId !== 'string' || !(r.heartbeatMs > 0) || !(r.claimWaitMs >= 0))
          throw new AgentHttpError(
            `register: the server's answer is not a RegisterResponse`,
            'server',
          );
        this.connectivity.succeeded();
        const again = this.registration !== null;
        this.registration = r;
        this.o.log(
          `${again ? 're-registered' : 'registered'} with ${this.o.server.origin} as ${this.o.name} (id ${r.agentId}); ` +
            `labels: ${this.o.labels.join(', ') || '(none)'}; capabilities: ${this.o.capabilities.join(', ')}; up to ${this.o.maxJobs} job(s)`,
        );
        return true;
      } catch (e) {
        const err = asHttpError(e);
        if (err.kind === 'aborted') return false;
        if (err.kind === 'auth' || err.kind === 'rejected' || err.kind === 'unknown') {
          this.fail(new Error(`the server refused to register this agent: ${err.message}`));
          return false;
        }
        this.connectivity.failed(err.message);
        await this.connectivity.pause(backoff.next(), this.claimAbort.signal);
      }
    }
    return false;
  }

  // ---- claiming -----------------------------------------------------------------------------

  private freeSlots(): number {
    return Math.max(0, this.o.maxJobs - this.running - this.waiting.length);
  }

  private async claimLoop(): Promise<void> {
    const backoff = new Backoff(this.o.backoff);
    while (!this.stopping && this.registration !== null) {
      const free = this.freeSlots();
      const waitMs = Math.min(this.registration.claimWaitMs, MAX_CLAIM_WAIT_MS);
      const request = this.client.claim(
        { agentId: this.registration.agentId, free, waitMs },
        waitMs + this.o.requestTimeoutMs,
        this.claimAbort.signal,
      );
      const answer = request.then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err: asHttpError(err) }),
      );
      // A claim made while full only listens for cancels; once a slot frees, a new claim says so
      // at once. The old one is not aborted (a job the server had already put into its answer
      // would be lost): it is left to finish, and whatever it brings is still acted on.
      const freed = free === 0 ? this.whenSlotFrees() : null;
      const outcome = await Promise.race([
        answer,
        ...(freed ? [freed.promise.then(() => 'superseded' as const)] : []),
      ]);
      freed?.cancel();
      if (outcome === 'superseded') {
        void answer.then((a) => ('ok' in a ? this.onClaim(a.ok) : undefined));
        continue;
      }
      if ('ok' in outcome) {
        this.connectivity.succeeded();
        backoff.reset();
        this.onClaim(outcome.ok);
        continue;
      }
      const err = outcome.err;
      if (err.kind === 'aborted') return;
      if (err.kind === 'auth') return this.fail(err);
      if (err.kind === 'unknown') {
        // The server forgot this agent (its records were reset): register again, same name.
        this.o.log(`the server does not know this agent (${err.message}); registering again`);
        if (!(await this.register())) return;
      } else if (err.kind === 'rejected') {
        this.o.log(`the server refused a claim: ${err.message}`);
      } else {
        this.connectivity.failed(err.message);
      }
      await this.connectivity.pause(backoff.next(), this.claimAbort.signal);
    }
  }

  private whenSlotFrees(): { promise: Promise<void>; cancel: () => void } {
    let fire!: () => void;
    const promise = new Promise<void>((resolve) => (fire = resolve));
    this.slotWaiters.add(fire);
    return { promise, cancel: () => this.slotWaiters.delete(fire) };
  }

  private onClaim(r: ClaimResponse): void {
    for (const c of Array.isArray(r?.cancel) ? r.cancel : []) this.cancelJob(c.jobId, c.reason);
    for (const a of Array.isArray(r?.jobs) ? r.jobs : []) this.accept(a);
  }

  private cancelJob(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    job.cancel(typeof reason === 'string' && reason !== '' ? reason : 'cancelled by the server');
    // One waiting for a slot need not wait any more to say it was cancelled.
    const i = this.waiting.indexOf(job);
    if (i >= 0) this.startJob(this.waiting.splice(i, 1)[0]!);
  }

  private accept(a: AssignedJob): void {
    const jobId = assignedJobId(a);
    if (jobId === null) return this.o.log('ignoring an assignment without a job id');
    if (this.jobs.has(jobId)) return; // delivered twice (a superseded claim and its successor)
    const job = new RemoteJob(a, assignmentProblem(a), this.jobContext!);
    this.jobs.set(jobId, job);
    if (this.stopping) job.cancel(`agent ${this.o.name} is stopping`);
    if (this.stopping || this.running < this.o.maxJobs) this.startJob(job);
    else this.waiting.push(job);
  }

  private startJob(job: RemoteJob): void {
    this.running++;
    const { job: j } = job.assigned;
    this.o.log(
      `job ${job.jobId}: stage ${String(j.stagePath)} of run ${String(j.runId)}, attempt ${String(j.attempt)}`,
    );
    void job.run().then(() => {
      this.running--;
      this.o.log(`job ${job.jobId}: ${job.outcome ?? 'stopped'}`);
      this.settle(job);
      const next = this.running < this.o.maxJobs ? this.waiting.shift() : undefined;
      if (next !== undefined) this.startJob(next);
      const waiters = [...this.slotWaiters];
      this.slotWaiters.clear();
      for (const w of waiters) w();
    });
  }

  /** Forgets a job once its run is over and its events are all acknowledged (or it was dropped). */
  private settle(job: RemoteJob): void {
    if (job.outcome === null && !job.dropped) return; // still running
    if (!job.dropped && !job.outbox.complete) return;
    if (this.jobs.get(job.jobId) !== job) return;
    this.jobs.delete(job.jobId);
    job.outbox.dispose();
    if (this.jobs.size === 0) {
      const waiters = [...this.emptyWaiters];
      this.emptyWaiters.clear();
      for (const w of waiters) w();
    }
  }

  /** Runs with a job here (running, or still delivering its events). */
  private busyRuns(): Set<string> {
    return new Set([...this.jobs.keys()].map((jobId) => jobId.slice(0, jobId.indexOf('/'))));
  }

  private pruning = false;

  /** Removes the workspaces of finished runs the server named (never of a run with a job here). */
  private async prune(runIds: readonly string[]): Promise<void> {
    if (this.pruning) return;
    this.pruning = true;
    try {
      const removed = (await this.jobContext?.workspaces.pruneRuns(runIds, this.busyRuns())) ?? [];
      if (removed.length > 0) this.o.log(`removed the workspaces of finished run${removed.length === 1 ? '' : 's'} ${removed.join(', ')}`);
    } catch (e) {
      this.o.log(`could not remove old workspaces: ${(e as Error).message}`);
    } finally {
      this.pruning = false;
    }
  }

  private disowned(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.outbox.complete) return;
    this.o.log(
      `job ${jobId}: the server no longer counts it as this agent's; stopping it and discarding its events`,
    );
    job.drop("the server no longer counts this job as this agent's");
    this.settle(job);
  }
}
