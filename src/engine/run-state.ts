// The run state machine: folds a run's events into its state and decides, deterministically, what
// must happen next. No I/O, no clock: time comes from the events. Replaying a recorded log gives the
// same state and the same commands (test/engine/replay.test.ts).

import type { Plan, PlanStage } from '../protocol/plan.js';
import type { RunStatus, StageRecord, StageStatus } from '../store/types.js';
import type { Command, GatePhase, RunEvent } from './events.js';

export interface StageState {
  readonly plan: PlanStage;
  status: StageStatus;
  /** Attempts dispatched so far (the current attempt's number once dispatched). */
  attempt: number;
  /** Failed attempts, for `retry`. */
  failures: number;
  /** The attempt an agent is running, if any. */
  running: number | null;
  gate: { phase: GatePhase; index: number } | null;
  waitingForLock: boolean;
  lockHeld: boolean;
  /** The stage's own part (gates, steps) is over; nested stages may still run. */
  ownDone: boolean;
  startedAt: number | null;
  finishedAt: number | null;
  message: string;
  exitCode: number | null;
  reusedFrom: string | null;
  /** Exit-gate decisions that arrived while the stage still ran (a callback can come early). */
  early: Map<number, { decision: string; actor: string; comment: string }>;
  /** Skipped because something before it failed: what follows is not run either. */
  blocks: boolean;
}

const DONE_OK: readonly StageStatus[] = ['succeeded', 'unstable', 'skipped'];
const DONE_BAD: readonly StageStatus[] = ['failed', 'timed_out', 'cancelled'];
const ACTIVE: readonly StageStatus[] = ['waiting', 'queued', 'running'];

export function isFinished(status: StageStatus): boolean {
  return DONE_OK.includes(status) || DONE_BAD.includes(status);
}

export class RunMachine {
  readonly stages = new Map<string, StageState>();
  readonly order: string[] = [];
  /** Each stage's nested stages, in order (for the status people see of a parent). */
  private readonly children = new Map<string, string[]>();
  plan: Plan | undefined;
  status: RunStatus = 'queued';
  startedAt: number | null = null;
  finishedAt: number | null = null;
  message = '';
  owner = '';
  cancelRequested = false;
  timedOut = false;
  /** The pipeline-level concurrency group, held for the whole run. */
  runLock: string | null = null;
  runLockHeld = false;
  private finished = false;
  private now = 0;
  /** Stages whose record changed since the last `takeChanged()`. */
  private changed = new Set<string>();

  /** Folds events without collecting commands (to rebuild state). */
  static fold(events: readonly RunEvent[]): RunMachine {
    const m = new RunMachine();
    for (const e of events) m.apply(e);
    return m;
  }

  apply(e: RunEvent): Command[] {
    this.now = e.at;
    const out: Command[] = [];
    switch (e.type) {
      case 'run.created':
        this.create(e.plan, e.reused ?? {});
        break;
      case 'run.started':
        this.owner = e.owner;
        this.status = 'running';
        this.startedAt = e.at;
        if (this.runLock) {
          this.message = `waiting for concurrency group '${this.runLock}'`;
          out.push({ type: 'acquire-lock', stage: '', lock: this.runLock });
        }
        this.advance(out);
        break;
      case 'run.resumed':
        this.owner = e.owner;
        if (!this.finished) {
          this.status = 'running';
          this.message = '';
          this.recover(e.restartRunning, out);
          this.advance(out);
        }
        break;
      case 'run.interrupted':
        if (!this.finished) {
          this.status = 'interrupted';
          this.message = e.reason;
        }
        break;
      case 'run.cancel-requested':
        if (!this.finished && !this.cancelRequested) {
          this.cancelRequested = true;
          // Nobody drives an interrupted run: the cancel ends it once its attempts are accounted for.
          if (this.status === 'interrupted') this.status = 'running';
          this.message = `cancelled by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`;
          this.stopAll(`run cancelled by ${e.actor}`, out);
        }
        break;
      case 'run.timed-out':
        if (!this.finished && !this.timedOut) {
          this.timedOut = true;
          this.message = 'the pipeline timed out';
          this.stopAll('the pipeline timed out', out);
        }
        break;
      case 'gate.opened':
        break;
      case 'gate.decided':
        this.gateDecided(e, out);
        break;
      case 'lock.acquired': {
        if (e.stage === '') {
          if (!this.runLockHeld && !this.finished) {
            this.runLockHeld = true;
            this.message = '';
            this.advance(out);
          }
          break;
        }
        const s = this.stages.get(e.stage);
        if (s && s.waitingForLock && s.status === 'waiting') {
          s.waitingForLock = false;
          s.lockHeld = true;
          this.touch(s, '');
          this.toAgent(s, out);
        }
        break;
      }
      case 'stage.dispatched': {
        const s = this.stages.get(e.stage);
        if (s && s.status === 'queued' && s.attempt === e.attempt) {
          s.status = 'running';
          s.running = e.attempt;
          s.startedAt ??= e.at;
          this.touch(s, '');
        }
        break;
      }
      case 'step.started': {
        const s = this.stages.get(e.stage);
        if (s && s.running === e.attempt) this.touch(s, e.label);
        break;
      }
      case 'step.finished': {
        const s = this.stages.get(e.stage);
        if (s && s.running === e.attempt && e.status !== 'succeeded') {
          s.exitCode = e.exitCode;
          this.touch(s, e.message);
        }
        break;
      }
      case 'job.finished':
        this.jobFinished(e.stage, e.attempt, e.outcome, e.message, out);
        break;
      case 'job.lost':
        this.jobFinished(e.stage, e.attempt, 'failed', `lost: ${e.reason}`, out);
        break;
      case 'stage.waiting-for-agent': {
        const s = this.stages.get(e.stage);
        if (s && s.status === 'queued' && s.attempt === e.attempt) this.touch(s, e.reason);
        break;
      }
      case 'deployment.recorded':
      case 'notification.sent':
        break;
    }
    this.maybeFinish(out);
    this.updateRunStatus();
    return out;
  }

  // ------------------------------------------------------------------ lifecycle

  private create(plan: Plan, reused: Readonly<Record<string, { fromRun: string; status: 'succeeded' | 'unstable' | 'skipped'; attempt: number }>>): void {
    this.plan = plan;
    this.runLock = plan.pipeline.concurrency;
    for (const p of plan.stages) {
      const r = reused[p.path];
      const s: StageState = {
        plan: p,
        // A stage the plan skips still waits its turn: what follows it must not start earlier.
        status: r ? r.status : 'pending',
        attempt: r ? r.attempt : 0,
        failures: 0,
        running: null,
        gate: null,
        waitingForLock: false,
        lockHeld: false,
        ownDone: r !== undefined,
        startedAt: null,
        finishedAt: null,
        message: r ? `reused from run ${r.fromRun}` : '',
        exitCode: null,
        reusedFrom: r ? r.fromRun : null,
        early: new Map(),
        blocks: false,
      };
      this.stages.set(p.path, s);
      this.order.push(p.path);
      if (p.parent) this.children.set(p.parent, [...(this.children.get(p.parent) ?? []), p.path]);
      this.changed.add(p.path);
    }
  }

  /** Makes progress: starts every pending stage whose needs are met, skips those that cannot run. */
  private advance(out: Command[]): void {
    if (this.status !== 'running' && this.status !== 'waiting') return;
    for (const path of this.order) {
      const s = this.stages.get(path) as StageState;
      if (s.status !== 'pending') continue;
      let ready = true;
      let blocker: StageState | undefined;
      for (const need of s.plan.needs) {
        const d = this.stages.get(need);
        if (!d) continue;
        // A failure stops what follows; so does a stage skipped because of one, and a skipped
        // parent takes its nested stages with it.
        if (DONE_BAD.includes(d.status) || (d.status === 'skipped' && (d.blocks || need === s.plan.parent))) {
          blocker = d;
          break;
        }
        if (!(d.ownDone && DONE_OK.includes(d.status))) ready = false;
      }
      if (blocker) {
        if (this.cancelRequested || this.timedOut) this.finish(s, 'cancelled', this.message, out);
        else {
          s.blocks = blocker.status !== 'skipped' || blocker.blocks;
          this.finish(s, 'skipped', blocker.status === 'skipped' ? blocker.message : `not run: '${blocker.plan.path}' ${blocker.status === 'timed_out' ? 'timed out' : blocker.status}`, out);
        }
        continue;
      }
      if (ready && s.plan.skip !== null) {
        this.finish(s, 'skipped', s.plan.skip, out);
        continue;
      }
      if (ready && this.runLock && !this.runLockHeld) continue;
      if (!ready || this.cancelRequested || this.timedOut) continue;
      s.startedAt = this.now;
      if (s.plan.gates.enter.length > 0) this.openGate(s, 'enter', 0, out);
      else this.afterEnterGates(s, out);
    }
  }

  private afterEnterGates(s: StageState, out: Command[]): void {
    if (s.plan.concurrency && !s.lockHeld) {
      s.status = 'waiting';
      s.waitingForLock = true;
      this.touch(s, `for concurrency group '${s.plan.concurrency}'`);
      out.push({ type: 'acquire-lock', stage: s.plan.path, lock: s.plan.concurrency });
      return;
    }
    this.toAgent(s, out);
  }

  private toAgent(s: StageState, out: Command[], message = ''): void {
    if (s.plan.manifest.ops.length === 0) {
      // Nothing to run (a group or an approval stage): no agent is needed.
      this.ownSucceeded(s, out);
      return;
    }
    s.status = 'queued';
    s.attempt += 1;
    s.running = null;
    this.touch(s, message);
    out.push({ type: 'dispatch', stage: s.plan.path, attempt: s.attempt });
  }

  private ownSucceeded(s: StageState, out: Command[]): void {
    if (s.plan.gates.exit.length > 0) {
      this.openGate(s, 'exit', 0, out);
      return;
    }
    this.finish(s, 'succeeded', '', out);
  }

  private openGate(s: StageState, phase: GatePhase, index: number, out: Command[]): void {
    const gate = s.plan.gates[phase][index];
    if (!gate) return;
    s.status = 'waiting';
    s.gate = { phase, index };
    const early = phase === 'exit' ? s.early.get(index) : undefined;
    if (early) {
      s.early.delete(index);
      this.gateDecided({ type: 'gate.decided', at: this.now, stage: s.plan.path, phase, index, decision: early.decision as 'passed', actor: early.actor, comment: early.comment }, out);
      return;
    }
    this.touch(s, gate.kind === 'input' ? `for a person: "${gate.message}"` : gate.kind === 'webhook' ? `for a callback: ${gate.description}` : `for ${gate.url} to answer ${gate.expect}`);
    out.push({ type: 'open-gate', stage: s.plan.path, phase, index, gate });
  }

  private gateDecided(e: Extract<RunEvent, { type: 'gate.decided' }>, out: Command[]): void {
    const s = this.stages.get(e.stage);
    if (s && e.phase === 'exit' && (s.status === 'queued' || s.status === 'running') && !s.early.has(e.index)) {
      // The external system answered before the gate opened: keep it for when it does.
      s.early.set(e.index, { decision: e.decision, actor: e.actor, comment: e.comment });
      return;
    }
    if (!s || s.status !== 'waiting' || !s.gate || s.gate.phase !== e.phase || s.gate.index !== e.index) return;
    s.gate = null;
    if (e.decision === 'approved' || e.decision === 'passed') {
      const next = e.index + 1;
      if (next < s.plan.gates[e.phase].length) this.openGate(s, e.phase, next, out);
      else if (e.phase === 'enter') this.afterEnterGates(s, out);
      else this.finish(s, 'succeeded', '', out);
      return;
    }
    const why =
      e.decision === 'rejected'
        ? `rejected by ${e.actor}${e.comment ? `: ${e.comment}` : ''}`
        : e.decision === 'timed_out'
          ? `${e.phase} gate timed out${e.comment ? `: ${e.comment}` : ''}`
          : e.decision === 'cancelled'
            ? `${e.phase} gate cancelled`
            : `${e.phase} gate failed${e.comment ? `: ${e.comment}` : ''}`;
    this.failed(s, e.decision === 'timed_out' ? 'timed_out' : e.decision === 'cancelled' ? 'cancelled' : 'failed', why, out);
  }

  private jobFinished(path: string, attempt: number, outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled', message: string, out: Command[]): void {
    const s = this.stages.get(path);
    // A report about an attempt that is not the current one is stale (a replayed or late message).
    if (!s || s.attempt !== attempt || (s.status !== 'running' && s.status !== 'queued')) return;
    s.running = null;
    if (outcome === 'succeeded') {
      this.touch(s, '');
      this.ownSucceeded(s, out);
      return;
    }
    if (outcome === 'cancelled' || this.cancelRequested || this.timedOut) {
      this.failed(s, this.timedOut ? 'failed' : 'cancelled', message || this.message || 'cancelled', out);
      return;
    }
    s.failures += 1;
    if (s.failures <= s.plan.retry) {
      this.toAgent(s, out, `attempt ${attempt} ${outcome === 'timed_out' ? 'timed out' : 'failed'}${message ? `: ${message}` : ''}; retrying`);
      return;
    }
    this.failed(s, outcome, message, out);
  }

  /** A stage ends badly; with allowFailure it is only unstable. */
  private failed(s: StageState, status: 'failed' | 'timed_out' | 'cancelled', message: string, out: Command[]): void {
    if (status !== 'cancelled' && s.plan.allowFailure && !this.cancelRequested) {
      this.finish(s, 'unstable', message, out);
      return;
    }
    this.finish(s, status, message, out);
    if (status !== 'cancelled' && s.plan.failFastGroup) {
      for (const other of this.stages.values()) {
        if (other === s || other.plan.failFastGroup !== s.plan.failFastGroup) continue;
        this.stopStage(other, `cancelled: '${s.plan.path}' failed in the same parallel block`, out);
      }
    }
  }

  private finish(s: StageState, status: StageStatus, message: string, out: Command[]): void {
    const wasActive = ACTIVE.includes(s.status) || s.startedAt !== null;
    s.status = status;
    s.ownDone = true;
    s.gate = null;
    s.waitingForLock = false;
    s.finishedAt = this.now;
    this.touch(s, message);
    if (s.lockHeld && s.plan.concurrency) {
      s.lockHeld = false;
      out.push({ type: 'release-lock', stage: s.plan.path, lock: s.plan.concurrency });
    }
    if (!wasActive || status === 'skipped') return;
    if (s.plan.environment && (status === 'succeeded' || status === 'unstable' || status === 'failed' || status === 'timed_out')) {
      out.push({ type: 'record-deployment', stage: s.plan.path, environment: s.plan.environment, status: status === 'succeeded' ? 'succeeded' : status === 'unstable' ? 'unstable' : 'failed' });
    }
    if (s.plan.notify.length > 0 && status !== 'cancelled') {
      out.push({ type: 'notify', stage: s.plan.path, outcome: status === 'succeeded' || status === 'unstable' ? 'success' : 'failure' });
    }
    this.advance(out);
  }

  /** Stops a stage that has not finished: cancels its job, closes its gate, or just marks it. */
  private stopStage(s: StageState, reason: string, out: Command[]): void {
    if (isFinished(s.status)) return;
    if (s.status === 'running' || (s.status === 'queued' && s.running === null && s.attempt > 0)) {
      out.push({ type: 'cancel-job', stage: s.plan.path, attempt: s.attempt, reason });
      if (s.status === 'running') {
        this.touch(s, reason);
        return;
      }
    }
    if (s.gate) out.push({ type: 'close-gate', stage: s.plan.path, phase: s.gate.phase, index: s.gate.index });
    if (s.waitingForLock && s.plan.concurrency) out.push({ type: 'release-lock', stage: s.plan.path, lock: s.plan.concurrency });
    this.finish(s, 'cancelled', reason, out);
  }

  private stopAll(reason: string, out: Command[]): void {
    for (const path of this.order) this.stopStage(this.stages.get(path) as StageState, reason, out);
  }

  /** After a restart: re-issue what was in flight. */
  private recover(restartRunning: boolean, out: Command[]): void {
    if (this.runLock && !this.runLockHeld) out.push({ type: 'acquire-lock', stage: '', lock: this.runLock });
    for (const path of this.order) {
      const s = this.stages.get(path) as StageState;
      if (this.cancelRequested || this.timedOut) {
        // A cancel that was asked for before the restart still stands: nothing runs again.
        if (s.status === 'running' && !restartRunning) continue;
        if (!isFinished(s.status)) this.finish(s, 'cancelled', this.message || 'cancelled', out);
        continue;
      }
      if (s.status === 'running' || s.status === 'queued') {
        if (s.status === 'running' && !restartRunning) continue;
        // The attempt that was running died with its orchestrator: run the stage again, without
        // counting it against `retry` — after taking its lock again, which died with it too.
        if (s.plan.concurrency && s.lockHeld) {
          s.lockHeld = false;
          s.status = 'waiting';
          s.waitingForLock = true;
          this.touch(s, `interrupted; waiting for concurrency group '${s.plan.concurrency}' again`);
          out.push({ type: 'acquire-lock', stage: s.plan.path, lock: s.plan.concurrency });
          continue;
        }
        this.toAgent(s, out, 'interrupted; running again');
      } else if (s.status === 'waiting' && s.gate) {
        const gate = s.plan.gates[s.gate.phase][s.gate.index];
        if (gate) out.push({ type: 'open-gate', stage: s.plan.path, phase: s.gate.phase, index: s.gate.index, gate });
      } else if (s.status === 'waiting' && s.waitingForLock && s.plan.concurrency) {
        out.push({ type: 'acquire-lock', stage: s.plan.path, lock: s.plan.concurrency });
      }
    }
  }

  private maybeFinish(out: Command[]): void {
    if (this.finished || !this.plan || this.status === 'queued' || this.status === 'interrupted') return;
    for (const s of this.stages.values()) if (!isFinished(s.status)) return;
    this.finished = true;
    this.finishedAt = this.now;
    if (this.runLock) {
      // Held or still queued for: either way the run's place in the group ends here.
      this.runLockHeld = false;
      out.push({ type: 'release-lock', stage: '', lock: this.runLock });
    }
    let status: 'succeeded' | 'failed' | 'cancelled' = 'succeeded';
    if (this.timedOut) status = 'failed';
    else if (this.cancelRequested) status = 'cancelled';
    else if ([...this.stages.values()].some((s) => s.status === 'failed' || s.status === 'timed_out' || (s.status === 'cancelled' && s.reusedFrom === null))) status = 'failed';
    this.status = status;
    if (status === 'failed' && !this.message) {
      const first = [...this.stages.values()].find((s) => s.status === 'failed' || s.status === 'timed_out');
      this.message = first ? `'${first.plan.path}' ${first.status === 'timed_out' ? 'timed out' : 'failed'}${first.message ? `: ${first.message}` : ''}` : '';
    }
    out.push({ type: 'finish-run', status });
  }

  private updateRunStatus(): void {
    if (this.finished || this.status === 'queued' || this.status === 'interrupted') return;
    const states = [...this.stages.values()].map((s) => s.status);
    const busy = states.some((x) => x === 'running' || x === 'queued');
    this.status = !busy && states.some((x) => x === 'waiting') ? 'waiting' : 'running';
  }

  private touch(s: StageState, message: string): void {
    s.message = message;
    this.changed.add(s.plan.path);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  // ------------------------------------------------------------------ projections

  /** A stage as people see it: a stage with nested stages is not done before they are. */
  displayStatus(path: string): StageStatus {
    const s = this.stages.get(path) as StageState;
    // The plan already says it will not run; it only waits for its turn to say so.
    if (s.status === 'pending' && s.plan.skip !== null) return 'skipped';
    const children = this.children.get(path) ?? [];
    if (children.length === 0 || !DONE_OK.includes(s.status)) return s.status;
    const kids = children.map((c) => this.displayStatus(c));
    if (kids.some((k) => k === 'running' || k === 'queued')) return 'running';
    if (kids.some((k) => k === 'waiting')) return 'waiting';
    if (kids.some((k) => k === 'pending')) return s.status === 'skipped' ? 'skipped' : 'running';
    if (kids.some((k) => k === 'failed' || k === 'timed_out')) return 'failed';
    if (kids.some((k) => k === 'cancelled')) return 'cancelled';
    if (kids.some((k) => k === 'unstable')) return 'unstable';
    return s.status;
  }

  stageRecord(runId: string, path: string): StageRecord {
    const s = this.stages.get(path) as StageState;
    return {
      runId,
      path,
      status: this.displayStatus(path),
      attempt: s.attempt,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      message: s.status === 'pending' && s.plan.skip !== null ? s.plan.skip : s.message,
      exitCode: s.exitCode,
    };
  }

  /** Records of the stages that changed (and their ancestors, whose display status may follow). */
  takeChanged(runId: string): StageRecord[] {
    const paths = new Set<string>();
    for (const p of this.changed) {
      for (let q: string | null | undefined = p; q; q = this.stages.get(q)?.plan.parent) paths.add(q);
    }
    this.changed = new Set();
    return this.order.filter((p) => paths.has(p)).map((p) => this.stageRecord(runId, p));
  }
}
