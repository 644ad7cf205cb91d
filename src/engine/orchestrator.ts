// The orchestrator drives one run: it turns agent reports, people's decisions and time into events,
// appends them, and carries out the commands the state machine answers with. It never runs user
// code; agents do. The same orchestrator serves `otto run` and `otto serve`.

import { textBytes, withTextOf, writtenSlice, type AgentEvent, type StageJob } from '../protocol/agent.js';
import type { Plan, PlanStage } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import type { LogRecord, RunStatus, StageRecord } from '../store/types.js';
import type { AgentDispatcher } from './agents.js';
import type { Command, GateDecision, GatePhase, RunEvent } from './events.js';
import { EventLog } from './event-log.js';
import type { GateHost } from './gates.js';
import type { LockManager } from './locks.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * How long an agent's reports wait to be recorded together (one transaction for a stage's stream of
 * step events instead of one each). A job's end, or any other input, ends the wait at once: nothing
 * that decides what runs next is delayed, only what a viewer sees, by at most this long.
 */
const REPORT_WINDOW_MS = 10;

/**
 * A batch holding this much log text is recorded at once: a flood is stored as it comes, rather than
 * held (as strings the garbage collector keeps copying) until the window ends.
 */
const REPORT_WINDOW_MAX_LOG_CHARS = 1024 * 1024;

interface ReportBatch {
  readonly events: AgentEvent[];
  logChars: number;
  /** Settles when the batch is recorded (rejects when it could not be). */
  recorded: Promise<void>;
  /** Ends the batch's wait; set while it waits. */
  release: (() => void) | null;
  /** A delivery that is a batch already ended in it (a remote agent's request): no waiting. */
  complete: boolean;
}

/** What the person watching (a terminal, the server's event stream) is told. */
export interface RunListener {
  stages?(records: readonly StageRecord[], run: { status: RunStatus; message: string }): void;
  logs?(stage: string, attempt: number, chunks: readonly LogRecord[]): void;
  event?(event: RunEvent): void;
}

export interface JobFactory {
  /** Builds the job for a stage attempt (workspace, secrets, objects). Throws with a message on failure. */
  build(plan: Plan, stage: PlanStage, attempt: number, runId: string): Promise<StageJob>;
}

export interface Notifier {
  notify(plan: Plan, stage: PlanStage, outcome: 'success' | 'failure', runId: string): Promise<Array<{ kind: string; ok: boolean; message: string }>>;
  recordDeployment?(runId: string, plan: Plan, stage: PlanStage, status: string, at: number, startedAt: number | null): Promise<void>;
}

export interface OrchestratorOptions {
  readonly store: Store;
  readonly runId: string;
  readonly agents: AgentDispatcher;
  readonly jobs: JobFactory;
  /** Most jobs dispatched at once (`--jobs`). */
  readonly maxJobs: number;
  readonly owner: string;
  readonly clock?: Clock;
  readonly gates?: GateHost;
  readonly locks?: LockManager;
  readonly notifier?: Notifier;
  readonly listener?: RunListener;
  /** How often to look for events other processes appended (ms). */
  readonly pollMs?: number;
}

export class Orchestrator {
  private log!: EventLog;
  private plan!: Plan;
  private readonly clock: Clock;
  /** Serialises everything that touches the log: one input at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly jobsByStage = new Map<string, { jobId: string; attempt: number }>();
  private readonly stageByJob = new Map<string, { stage: string; attempt: number }>();
  private readonly waitingDispatch: Array<{ stage: string; attempt: number }> = [];
  private running = 0;
  private poller: NodeJS.Timeout | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private readonly gateTimers = new Map<string, NodeJS.Timeout>();
  private resolveDone!: (status: RunStatus) => void;
  readonly done = new Promise<RunStatus>((r) => (this.resolveDone = r));
  private stopped = false;
  private failure: unknown;
  /** Notifications in flight: a run does not end before they have been sent and recorded. */
  private readonly pendingNotifications = new Set<Promise<RunEvent[]>>();
  /**
   * Agent reports that arrived one after another with no other input between them, waiting in the
   * input queue as one piece of work (see agentEvents). Closed by any other input, and when it starts.
   */
  private openBatch: ReportBatch | null = null;

  constructor(private readonly options: OrchestratorOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get machine(): EventLog['machine'] {
    return this.log.machine;
  }

  /** The run's events so far (after start()). */
  get events(): readonly RunEvent[] {
    return this.log.events;
  }

  /**
   * Starts a fresh run (its log holds run.created); resumes one whose orchestrator and agent died
   * together ('resume': running stages run again); or recovers after a server restart, when agents
   * may still be running their jobs ('recover').
   */
  async start(mode: 'start' | 'resume' | 'recover'): Promise<void> {
    this.log = await EventLog.open(this.options.store, this.options.runId);
    const plan = this.log.machine.plan;
    if (!plan) throw new Error(`run ${this.options.runId} has no plan`);
    this.plan = plan;
    // After a server restart the agents keep running their jobs: know them again by id.
    for (const e of mode === 'recover' ? this.log.events : []) {
      if (e.type !== 'stage.dispatched') continue;
      const s = this.log.machine.stages.get(e.stage);
      if (s && s.status === 'running' && s.attempt === e.attempt) {
        this.jobsByStage.set(e.stage, { jobId: e.jobId, attempt: e.attempt });
        this.stageByJob.set(e.jobId, { stage: e.stage, attempt: e.attempt });
        this.running++;
      }
    }
    this.options.agents.onEvent((e, endOfDelivery) => this.agentReport(e, endOfDelivery));
    this.options.agents.onLost((jobId, reason) => this.input(() => this.jobLost(jobId, reason)));
    this.options.agents.onAssigned((jobId, agent) =>
      this.input(async () => {
        const job = this.stageByJob.get(jobId);
        if (job) await this.record([{ type: 'stage.dispatched', at: this.clock.now(), stage: job.stage, attempt: job.attempt, jobId, agent }]);
      }),
    );
    this.options.agents.onWaiting?.((jobId, reason) =>
      this.input(async () => {
        const job = this.stageByJob.get(jobId);
        if (job) await this.record([{ type: 'stage.waiting-for-agent', at: this.clock.now(), stage: job.stage, attempt: job.attempt, reason }]);
      }),
    );
    const first: RunEvent =
      mode === 'start'
        ? { type: 'run.started', at: this.clock.now(), owner: this.options.owner }
        : { type: 'run.resumed', at: this.clock.now(), owner: this.options.owner, restartRunning: mode === 'resume' };
    this.input(async () => {
      await this.options.store.setOwner(this.options.runId, this.options.owner);
      await this.record([first]);
    });
    const remaining = plan.pipeline.timeoutMs - (this.clock.now() - (this.log.machine.startedAt ?? this.clock.now()));
    this.timeout = setTimeout(() => this.input(() => this.record([{ type: 'run.timed-out', at: this.clock.now() }])), Math.max(0, remaining));
    this.timeout.unref();
    this.poller = setInterval(() => this.input(() => this.poll()), this.options.pollMs ?? 150);
    this.poller.unref();
  }

  /** Asks the run to stop: steps get SIGTERM, gates close, the state is recorded. */
  cancel(actor: string, reason: string): void {
    this.input(() => this.record([{ type: 'run.cancel-requested', at: this.clock.now(), actor, reason }]));
  }

  /** A decision on an open gate made in this process (a prompt answered, a callback received). */
  decideGate(stage: string, phase: GatePhase, index: number, decision: GateDecision, actor: string, comment: string): void {
    this.input(() => this.record([{ type: 'gate.decided', at: this.clock.now(), stage, phase, index, decision, actor, comment }]));
  }

  private input(work: () => Promise<void>): void {
    this.openBatch?.release?.();
    this.openBatch = null;
    void this.enqueue(work); // a failure stops the run (enqueue): nobody here waits for it
  }

  /** Queues work after every earlier input; the promise settles when it has run (or never will). */
  private enqueue(work: () => Promise<void>): Promise<void> {
    let settle!: (error?: unknown) => void;
    const ran = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Most callers do not wait for their work; a failure is handled below, not unhandled there.
    ran.catch(() => undefined);
    this.queue = this.queue.then(async () => {
      if (this.stopped) {
        settle(new Error(`run ${this.options.runId} is not being driven here any more`));
        return;
      }
      try {
        await work();
        settle();
      } catch (e) {
        settle(e);
        this.failure = e;
        await this.stop();
      }
    });
    return ran;
  }

  /** Appends events and carries out what they call for. */
  private async record(events: readonly RunEvent[]): Promise<void> {
    const commands = await this.log.append(events);
    for (const e of events) this.options.listener?.event?.(e);
    this.publish();
    await this.execute(commands);
  }

  private publish(): void {
    const m = this.log.machine;
    const records = m.order.map((p) => m.stageRecord(this.options.runId, p));
    this.options.listener?.stages?.(records, { status: m.status, message: m.message });
  }

  private async poll(): Promise<void> {
    if (!(await this.log.hasNews())) return;
    const before = this.log.events.length;
    const commands = await this.log.append([]);
    for (const e of this.log.events.slice(before)) this.options.listener?.event?.(e);
    this.publish();
    await this.execute(commands);
  }

  private async execute(commands: readonly Command[]): Promise<void> {
    for (const c of commands) {
      switch (c.type) {
        case 'dispatch':
          this.waitingDispatch.push({ stage: c.stage, attempt: c.attempt });
          break;
        case 'cancel-job': {
          const job = this.jobsByStage.get(c.stage);
          if (job && job.attempt === c.attempt) this.options.agents.cancel(job.jobId, c.reason);
          const i = this.waitingDispatch.findIndex((w) => w.stage === c.stage && w.attempt === c.attempt);
          if (i >= 0) {
            this.waitingDispatch.splice(i, 1);
            await this.record([{ type: 'job.finished', at: this.clock.now(), stage: c.stage, attempt: c.attempt, outcome: 'cancelled', message: c.reason, lastSeq: 0 }]);
          }
          break;
        }
        case 'open-gate':
          await this.openGate(c);
          break;
        case 'close-gate':
          this.closeGate(c.stage, c.phase, c.index);
          break;
        case 'acquire-lock':
          this.acquireLock(c.stage, c.lock);
          break;
        case 'release-lock':
          await this.options.locks?.release(c.lock, this.options.runId, c.stage);
          break;
        case 'notify':
          void this.notify(c.stage, c.outcome);
          break;
        case 'record-deployment': {
          const stage = this.stage(c.stage);
          if (stage) await this.options.notifier?.recordDeployment?.(this.options.runId, this.plan, stage, c.status, this.clock.now(), this.log.machine.stages.get(c.stage)?.startedAt ?? null);
          await this.record([{ type: 'deployment.recorded', at: this.clock.now(), stage: c.stage, environment: c.environment, status: c.status }]);
          break;
        }
        case 'finish-run':
          await this.finish();
          break;
      }
    }
    await this.pump();
  }

  private stage(path: string): PlanStage | undefined {
    return this.plan.stages.find((s) => s.path === path);
  }

  /** Dispatches queued stages while there is room under `--jobs`. */
  private async pump(): Promise<void> {
    while (this.running < this.options.maxJobs && this.waitingDispatch.length > 0) {
      const next = this.waitingDispatch.shift() as { stage: string; attempt: number };
      const stage = this.stage(next.stage);
      if (!stage) continue;
      const missing = this.options.agents.refuse(stage.runtime);
      if (missing) {
        await this.record([{ type: 'job.finished', at: this.clock.now(), stage: next.stage, attempt: next.attempt, outcome: 'failed', message: `stage '${next.stage}' cannot run: ${missing}`, lastSeq: 0 }]);
        continue;
      }
      let job: StageJob;
      // Count the slot before awaiting, so a nested pump cannot hand it out twice.
      this.running++;
      try {
        job = await this.options.jobs.build(this.plan, stage, next.attempt, this.options.runId);
      } catch (e) {
        this.running--;
        await this.record([{ type: 'job.finished', at: this.clock.now(), stage: next.stage, attempt: next.attempt, outcome: 'failed', message: (e as Error).message, lastSeq: 0 }]);
        continue;
      }
      this.jobsByStage.set(next.stage, { jobId: job.jobId, attempt: next.attempt });
      this.stageByJob.set(job.jobId, { stage: next.stage, attempt: next.attempt });
      // The stage runs once an agent has taken the job (see onAssigned).
      this.options.agents.dispatch(job);
    }
  }

  /**
   * An agent report joins the batch still waiting in the queue, if the last input was one, so that
   * reports arriving together (a busy agent writes several per read) are recorded together. The
   * order of all inputs is kept: a batch only ever holds reports with nothing else between them.
   */
  private agentReport(e: AgentEvent, endOfDelivery = false): Promise<void> {
    const open = this.openBatch;
    if (open !== null) {
      open.events.push(e);
      if (e.type === 'logs') open.logChars += logSize(e);
      open.complete ||= endOfDelivery;
      if (e.type === 'job-finished' || open.complete || open.logChars >= REPORT_WINDOW_MAX_LOG_CHARS) open.release?.();
      return open.recorded;
    }
    const batch: ReportBatch = { events: [e], logChars: e.type === 'logs' ? logSize(e) : 0, release: null, complete: endOfDelivery, recorded: Promise.resolve() };
    this.openBatch = batch;
    batch.recorded = this.enqueue(async () => {
      if (this.openBatch === batch && !batch.complete && batch.logChars < REPORT_WINDOW_MAX_LOG_CHARS && !batch.events.some((x) => x.type === 'job-finished')) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => batch.release?.(), REPORT_WINDOW_MS);
          batch.release = () => {
            batch.release = null;
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (this.openBatch === batch) this.openBatch = null;
      return this.agentEvents(batch.events);
    });
    return batch.recorded;
  }

  /**
   * Handles a batch of agent reports in order. Step reports change no stage's status and produce no
   * commands, so consecutive ones are appended as one transaction, ending with the job's finish when
   * it follows; consecutive log batches of a job are stored as one. Everything is stored, and told to
   * the listener, in the order it arrived.
   */
  private async agentEvents(batch: readonly AgentEvent[]): Promise<void> {
    let steps: RunEvent[] = [];
    const flush = async (): Promise<void> => {
      if (steps.length === 0) return;
      const events = steps;
      steps = [];
      await this.record(events);
    };
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i] as AgentEvent;
      const job = this.stageByJob.get(e.jobId);
      if (!job) continue;
      switch (e.type) {
        case 'job-started':
          break;
        case 'logs': {
          await flush();
          const chunks: LogRecord[] = [];
          for (let next: AgentEvent = e; ; next = batch[++i] as AgentEvent) {
            if (next.type === 'logs') {
              for (const c of next.chunks) {
                chunks.push(withTextOf<LogRecord>(c, { stage: job.stage, attempt: job.attempt, seq: c.seq, step: c.step, stream: c.stream }));
              }
            }
            const after = batch[i + 1];
            if (after?.type !== 'logs' || after.jobId !== e.jobId) break;
          }
          await this.options.store.appendLogs(this.options.runId, job.stage, job.attempt, chunks);
          this.options.listener?.logs?.(job.stage, job.attempt, chunks);
          break;
        }
        case 'step-started':
          steps.push({ type: 'step.started', at: this.clock.now(), stage: job.stage, attempt: job.attempt, step: e.step, label: e.label });
          break;
        case 'step-finished':
          steps.push({ type: 'step.finished', at: this.clock.now(), stage: job.stage, attempt: job.attempt, step: e.step, status: e.status, exitCode: e.exitCode, signal: e.signal, durationMs: e.durationMs, message: e.message });
          break;
        case 'job-finished':
          this.jobDone(e.jobId);
          steps.push({ type: 'job.finished', at: this.clock.now(), stage: job.stage, attempt: job.attempt, outcome: e.outcome, message: e.message, lastSeq: e.lastSeq });
          await flush();
          break;
      }
    }
    await flush();
  }

  private jobDone(jobId: string): void {
    const job = this.stageByJob.get(jobId);
    if (!job) return;
    this.stageByJob.delete(jobId);
    if (this.jobsByStage.get(job.stage)?.jobId === jobId) this.jobsByStage.delete(job.stage);
    this.running = Math.max(0, this.running - 1);
  }

  private async jobLost(jobId: string, reason: string): Promise<void> {
    const job = this.stageByJob.get(jobId);
    if (!job) return;
    this.jobDone(jobId);
    await this.record([{ type: 'job.lost', at: this.clock.now(), stage: job.stage, attempt: job.attempt, reason }]);
  }

  private async openGate(c: Extract<Command, { type: 'open-gate' }>): Promise<void> {
    const key = `${c.stage}\0${c.phase}\0${c.index}`;
    const opened = this.log.events.find((e) => e.type === 'gate.opened' && e.stage === c.stage && e.phase === c.phase && e.index === c.index) as
      | Extract<RunEvent, { type: 'gate.opened' }>
      | undefined;
    const deadline = opened?.deadline ?? this.clock.now() + c.gate.timeoutMs;
    const decide = (decision: GateDecision, actor: string, comment: string): void => this.decideGate(c.stage, c.phase, c.index, decision, actor, comment);
    const host = this.options.gates;
    const handle = host ? await host.open({ runId: this.options.runId, plan: this.plan, stage: c.stage, phase: c.phase, index: c.index, gate: c.gate, deadline, reopening: opened !== undefined }, decide) : undefined;
    if (!opened) {
      await this.record([
        { type: 'gate.opened', at: this.clock.now(), stage: c.stage, phase: c.phase, index: c.index, deadline, ...(handle?.tokenHash ? { tokenHash: handle.tokenHash } : {}) },
      ]);
    }
    // A backstop a moment after the deadline: a gate mechanism that knows more (a poll's last
    // answer) gets to time out first with a better message.
    const timer = setTimeout(() => decide('timed_out', 'otto', `no decision within the gate's timeout`), Math.max(0, deadline - this.clock.now()) + 1000);
    timer.unref();
    this.gateTimers.set(key, timer);
  }

  private closeGate(stage: string, phase: GatePhase, index: number): void {
    const key = `${stage}\0${phase}\0${index}`;
    const t = this.gateTimers.get(key);
    if (t) clearTimeout(t);
    this.gateTimers.delete(key);
    this.options.gates?.close(this.options.runId, stage, phase, index);
  }

  private acquireLock(stage: string, lock: string): void {
    const locks = this.options.locks;
    if (!locks) {
      this.input(() => this.record([{ type: 'lock.acquired', at: this.clock.now(), stage, lock }]));
      return;
    }
    void locks.acquire(lock, this.options.runId, stage, this.options.owner).then(
      () => this.input(() => this.record([{ type: 'lock.acquired', at: this.clock.now(), stage, lock }])),
      () => undefined,
    );
  }

  private async notify(path: string, outcome: 'success' | 'failure'): Promise<void> {
    const stage = this.stage(path);
    const notifier = this.options.notifier;
    if (!stage || !notifier) return;
    const p = notifier
      .notify(this.plan, stage, outcome, this.options.runId)
      .then((results) => results.map((r): RunEvent => ({ type: 'notification.sent', at: this.clock.now(), stage: path, kind: r.kind, ok: r.ok, message: r.message })))
      .catch((): RunEvent[] => []);
    this.pendingNotifications.add(p);
    void p.then((events) =>
      this.input(async () => {
        if (!this.pendingNotifications.delete(p)) return;
        if (events.length) await this.record(events);
      }),
    );
  }

  private async finish(): Promise<void> {
    const pending = [...this.pendingNotifications];
    this.pendingNotifications.clear();
    const events = (await Promise.all(pending)).flat();
    if (events.length) await this.log.append(events);
    for (const key of [...this.gateTimers.keys()]) {
      const [stage, phase, index] = key.split('\0') as [string, GatePhase, string];
      this.closeGate(stage, phase, Number(index));
    }
    await this.stop();
  }

  private async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    if (this.timeout) clearTimeout(this.timeout);
    this.options.locks?.stopAll();
    this.resolveDone(this.log?.machine.status ?? 'failed');
  }

  /** Rethrows an internal failure that stopped the run, if any. */
  get error(): unknown {
    return this.failure;
  }
}

/**
 * About how much text a 'logs' report holds: bytes when it carries them or says where they were
 * written (its text is not decoded, or read back, for this).
 */
function logSize(e: Extract<AgentEvent, { type: 'logs' }>): number {
  let n = 0;
  for (const c of e.chunks) n += textBytes(c)?.length ?? writtenSlice(c)?.length ?? c.text.length;
  return n;
}
