// The server's side of agents: a queue of dispatched jobs, agents' long-poll claims, label and
// workspace routing, event intake with de-duplication by sequence number, and heartbeats.

import type { AgentEvent, StageJob } from '../protocol/agent.js';
import type { AssignedJob, ClaimResponse, JobSource, NumberedEvent } from '../protocol/agent-http.js';
import type { PlanRuntime } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import type { AgentRecord } from '../store/types.js';
import { capabilityFor, type AgentDispatcher, type EventListener } from '../engine/index.js';

interface Pending {
  readonly assigned: AssignedJob;
  readonly queuedAt: number;
  reported: string;
}

interface Waiter {
  readonly agentId: string;
  readonly free: number;
  readonly resolve: (r: ClaimResponse) => void;
  readonly timer: NodeJS.Timeout;
}

interface Connected {
  record: AgentRecord;
  lastSeen: number;
  /** Jobs assigned and not finished. */
  readonly jobs: Set<string>;
  readonly cancels: Array<{ jobId: string; reason: string }>;
}

export interface DispatcherOptions {
  readonly store: Store;
  /** An agent that has not been heard of for this long is lost, with its jobs. */
  readonly agentTimeoutMs: number;
  readonly clock?: () => number;
  readonly metrics?: { queueWait(ms: number): void; dispatchLatency(ms: number): void; logBytes(n: number): void };
}

/** Jobs and their extra routing facts, registered by the server's job factory before dispatch. */
export interface JobRouting {
  readonly source: JobSource;
  readonly workspaceFrom: { readonly stage: string; readonly jobId: string } | null;
  readonly runtime: PlanRuntime;
}

export class RemoteDispatcher implements AgentDispatcher {
  private readonly pending: Pending[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly agents = new Map<string, Connected>();
  private readonly routing = new Map<string, JobRouting>();
  /** Which agent runs each job (also jobs recovered from the store after a restart). */
  private readonly jobAgent = new Map<string, string>();
  /** Which agent ran each job, finished or not: a stage that starts from another's workspace must go there. */
  private readonly ranBy = new Map<string, string>();
  /** When each job was taken by its agent, until its first step starts (dispatch latency). */
  private readonly awaitingFirstStep = new Map<string, number>();
  private readonly eventListeners: EventListener[] = [];
  private readonly lostListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly assignedListeners: Array<(jobId: string, agent: string) => void> = [];
  private readonly waitingListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(private readonly options: DispatcherOptions) {
    this.now = options.clock ?? Date.now;
    this.startedAt = this.now();
    this.sweeper = setInterval(() => void this.sweep(), Math.max(200, Math.min(2000, options.agentTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /** After a restart: jobs still running on agents, so their events are accepted again. */
  async recover(): Promise<void> {
    for (const j of await this.options.store.listAgentJobs({})) {
      this.ranBy.set(j.jobId, j.agentId);
      if (j.finishedAt === null) this.jobAgent.set(j.jobId, j.agentId);
    }
    for (const a of await this.options.store.listAgents()) {
      const jobs = new Set([...this.jobAgent.entries()].filter(([, agent]) => agent === a.id).map(([job]) => job));
      // Agents get a full timeout from the restart to show up again.
      if (jobs.size) this.agents.set(a.id, { record: a, lastSeen: this.startedAt, jobs, cancels: [] });
    }
  }

  setRouting(jobId: string, routing: JobRouting): void {
    this.routing.set(jobId, routing);
  }

  // ------------------------------------------------------------------ AgentDispatcher

  capabilities(): readonly string[] {
    const caps = new Set<string>(['local']);
    for (const a of this.connected()) {
      for (const c of a.record.capabilities) caps.add(c);
      for (const l of a.record.labels) caps.add(`label:${l}`);
    }
    return [...caps];
  }

  refuse(): string | undefined {
    return undefined;
  }

  dispatch(job: StageJob): void {
    const routing = this.routing.get(job.jobId);
    if (!routing) throw new Error(`job ${job.jobId} has no routing`);
    this.pending.push({ assigned: { job, source: routing.source, workspaceFrom: routing.workspaceFrom }, queuedAt: this.now(), reported: '' });
    this.match();
    this.reportWaiting();
  }

  cancel(jobId: string, reason: string): void {
    const i = this.pending.findIndex((p) => p.assigned.job.jobId === jobId);
    if (i >= 0) {
      // Never reached an agent: it ends here.
      this.pending.splice(i, 1);
      this.routing.delete(jobId);
      const finished: AgentEvent = { type: 'job-finished', jobId, outcome: 'cancelled', message: reason, durationMs: 0, lastSeq: 0, artifacts: [] };
      // No agent waits for an ack of this one; a failure to record it stops the run.
      for (const l of this.eventListeners) void Promise.resolve(l(finished)).catch(() => undefined);
      return;
    }
    const agentId = this.jobAgent.get(jobId);
    const agent = agentId ? this.agents.get(agentId) : undefined;
    if (!agent) return;
    agent.cancels.push({ jobId, reason });
    this.wake(agent.record.id);
  }

  onEvent(listener: EventListener): void {
    this.eventListeners.push(listener);
  }

  onLost(listener: (jobId: string, reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  onAssigned(listener: (jobId: string, agent: string) => void): void {
    this.assignedListeners.push(listener);
  }

  onWaiting(listener: (jobId: string, reason: string) => void): void {
    this.waitingListeners.push(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.resolve({ jobs: [], cancel: [] });
    }
    this.waiters.clear();
  }

  // ------------------------------------------------------------------ the agent protocol

  async register(record: AgentRecord): Promise<void> {
    const existing = this.agents.get(record.id);
    this.agents.set(record.id, { record, lastSeen: this.now(), jobs: existing?.jobs ?? new Set(), cancels: existing?.cancels ?? [] });
    this.match();
    this.reportWaiting();
  }

  isKnown(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  /** A claim: answers at once with work or cancels, else waits up to waitMs. */
  claim(agentId: string, free: number, waitMs: number): Promise<ClaimResponse> {
    const agent = this.agents.get(agentId);
    if (!agent) return Promise.resolve({ jobs: [], cancel: [] });
    agent.lastSeen = this.now();
    const old = this.waiters.get(agentId);
    if (old) {
      clearTimeout(old.timer);
      this.waiters.delete(agentId);
      old.resolve({ jobs: [], cancel: [] });
    }
    const now = this.take(agent, free);
    if (now.jobs.length || now.cancel.length) return Promise.resolve(now);
    return new Promise<ClaimResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(agentId);
        resolve({ jobs: [], cancel: [] });
      }, Math.max(0, Math.min(waitMs, 60_000)));
      this.waiters.set(agentId, { agentId, free, resolve, timer });
    });
  }

  /** A claim whose connection closed: forget its waiter (its jobs, if any, go back first). */
  abandon(agentId: string, answered: ClaimResponse | undefined): void {
    const w = this.waiters.get(agentId);
    if (w) {
      clearTimeout(w.timer);
      this.waiters.delete(agentId);
    }
    if (!answered) return;
    const agent = this.agents.get(agentId);
    for (const assigned of answered.jobs) {
      const jobId = assigned.job.jobId;
      agent?.jobs.delete(jobId);
      this.jobAgent.delete(jobId);
      this.ranBy.delete(jobId);
      this.awaitingFirstStep.delete(jobId);
      void this.options.store.finishAgentJob(jobId, this.now());
      this.pending.unshift({ assigned, queuedAt: this.now(), reported: '' });
    }
    if (agent) agent.cancels.unshift(...answered.cancel);
    this.match();
  }

  /** Takes what an agent may have now: its cancels, and up to `free` jobs it can run. */
  private take(agent: Connected, free: number): ClaimResponse {
    const cancel = agent.cancels.splice(0);
    const jobs: AssignedJob[] = [];
    for (let i = 0; i < this.pending.length && jobs.length < free; ) {
      const p = this.pending[i] as Pending;
      if (this.fits(agent, p.assigned)) {
        this.pending.splice(i, 1);
        jobs.push(p.assigned);
        this.assign(agent, p);
      } else i++;
    }
    return { jobs, cancel };
  }

  private assign(agent: Connected, p: Pending): void {
    const jobId = p.assigned.job.jobId;
    agent.jobs.add(jobId);
    this.jobAgent.set(jobId, agent.record.id);
    this.ranBy.set(jobId, agent.record.id);
    this.options.metrics?.queueWait(this.now() - p.queuedAt);
    this.awaitingFirstStep.set(jobId, this.now());
    void this.options.store.createAgentJob({ jobId, runId: p.assigned.job.runId, stage: p.assigned.job.stagePath, attempt: p.assigned.job.attempt, agentId: agent.record.id, assignedAt: this.now() });
    for (const l of this.assignedListeners) l(jobId, agent.record.name);
  }

  private fits(agent: Connected, job: AssignedJob): boolean {
    const runtime = this.routing.get(job.job.jobId)?.runtime ?? { kind: 'local' as const };
    const need = capabilityFor(runtime);
    if (need?.startsWith('label:')) {
      if (!agent.record.labels.includes(need.slice(6))) return false;
    } else if (need !== null && !agent.record.capabilities.includes(need)) return false;
    if (need === null && !agent.record.capabilities.includes('local')) return false;
    if (job.workspaceFrom && this.ranBy.get(job.workspaceFrom.jobId) !== agent.record.id) return false;
    return true;
  }

  /** Hands queued work to agents that are waiting in a claim. */
  private match(): void {
    for (const w of [...this.waiters.values()]) {
      const agent = this.agents.get(w.agentId);
      if (!agent) continue;
      const r = this.take(agent, w.free);
      if (r.jobs.length || r.cancel.length) {
        clearTimeout(w.timer);
        this.waiters.delete(w.agentId);
        w.resolve(r);
      }
    }
  }

  private wake(agentId: string): void {
    const w = this.waiters.get(agentId);
    const agent = this.agents.get(agentId);
    if (!w || !agent) return;
    const r = this.take(agent, w.free);
    if (r.jobs.length || r.cancel.length) {
      clearTimeout(w.timer);
      this.waiters.delete(agentId);
      w.resolve(r);
    }
  }

  /** Says why queued jobs wait, when no connected agent could take them. */
  private reportWaiting(): void {
    const agents = this.connected();
    for (const p of this.pending) {
      const routing = this.routing.get(p.assigned.job.jobId);
      const runtime = routing?.runtime ?? { kind: 'local' as const };
      if (agents.some((a) => this.fits(a, p.assigned))) continue;
      const need = capabilityFor(runtime);
      const reason = p.assigned.workspaceFrom
        ? `waiting for the agent that ran '${p.assigned.workspaceFrom.stage}' (this stage starts from its workspace)`
        : need?.startsWith('label:')
          ? `waiting for an agent labelled '${need.slice(6)}'`
          : need
            ? `waiting for an agent that offers ${need}`
            : agents.length === 0
              ? 'waiting for an agent to connect'
              : 'waiting for a free agent';
      if (reason !== p.reported) {
        p.reported = reason;
        for (const l of this.waitingListeners) l(p.assigned.job.jobId, reason);
      }
    }
  }

  /** Dispatch latency: from an agent taking a job to its first step starting (or the job ending without one). */
  private firstStep(jobId: string): void {
    const at = this.awaitingFirstStep.get(jobId);
    if (at === undefined) return;
    this.awaitingFirstStep.delete(jobId);
    this.options.metrics?.dispatchLatency(this.now() - at);
  }

  /** Stores events from an agent (duplicates by eventSeq are dropped) and passes them on. */
  async deliver(agentId: string, jobId: string, events: readonly NumberedEvent[]): Promise<{ ack: number; cancel: string | null }> {
    const record = await this.options.store.getAgentJob(jobId);
    if (!record || record.agentId !== agentId) return { ack: events.length ? Math.max(...events.map((e) => e.eventSeq)) : 0, cancel: 'this job is not assigned to this agent' };
    const agent = this.agents.get(agentId);
    if (agent) agent.lastSeen = this.now();
    let ack = record.lastEventSeq;
    let finished = false;
    const fresh: AgentEvent[] = [];
    for (const n of [...events].sort((a, b) => a.eventSeq - b.eventSeq)) {
      if (n.eventSeq <= ack) continue;
      if (n.eventSeq !== ack + 1) break; // a gap: wait for the missing ones
      if (n.event.type === 'logs') this.options.metrics?.logBytes(n.event.chunks.reduce((s, c) => s + Buffer.byteLength(c.text), 0));
      if (n.event.type === 'step-started' || n.event.type === 'job-finished') this.firstStep(jobId);
      fresh.push(n.event);
      ack = n.eventSeq;
      if (n.event.type === 'job-finished') finished = true;
    }
    const recorded: Array<void | Promise<void>> = [];
    fresh.forEach((e, i) => {
      for (const l of this.eventListeners) recorded.push(l(e, i === fresh.length - 1));
    });
    // The agent forgets what is acknowledged, so only what the run has recorded is: a server
    // killed before that hears it again from the agent.
    await Promise.all(recorded);
    if (finished) {
      await this.options.store.finishAgentJob(jobId, this.now());
      agent?.jobs.delete(jobId);
      this.jobAgent.delete(jobId);
    }
    if (ack > record.lastEventSeq) await this.options.store.setAgentJobSeq(jobId, ack);
    const cancel = agent?.cancels.find((c) => c.jobId === jobId);
    return { ack, cancel: cancel ? cancel.reason : null };
  }

  heartbeat(agentId: string, jobs: readonly string[]): { cancel: Array<{ jobId: string; reason: string }>; unknown: string[] } {
    const agent = this.agents.get(agentId);
    if (!agent) return { cancel: [], unknown: [...jobs] };
    agent.lastSeen = this.now();
    void this.options.store.touchAgent(agentId, this.now());
    const unknown = jobs.filter((j) => this.jobAgent.get(j) !== agentId && !agent.jobs.has(j));
    return { cancel: agent.cancels.splice(0), unknown };
  }

  /** Agents heard from recently. */
  connected(): Connected[] {
    const limit = this.now() - this.options.agentTimeoutMs;
    return [...this.agents.values()].filter((a) => a.lastSeen >= limit || this.waiters.has(a.record.id));
  }

  status(): Array<{ agent: AgentRecord; connected: boolean; busy: number; jobs: string[]; lastSeen: number }> {
    const live = new Set(this.connected().map((a) => a.record.id));
    return [...this.agents.values()].map((a) => ({ agent: a.record, connected: live.has(a.record.id), busy: a.jobs.size, jobs: [...a.jobs], lastSeen: a.lastSeen }));
  }

  private async sweep(): Promise<void> {
    const limit = this.now() - this.options.agentTimeoutMs;
    for (const a of this.agents.values()) {
      if (a.lastSeen >= limit || this.waiters.has(a.record.id) || a.jobs.size === 0) continue;
      const lost = [...a.jobs];
      a.jobs.clear();
      for (const jobId of lost) {
        this.jobAgent.delete(jobId);
        this.awaitingFirstStep.delete(jobId);
        await this.options.store.finishAgentJob(jobId, this.now());
        for (const l of this.lostListeners) l(jobId, `agent '${a.record.name}' stopped answering (no heartbeat for ${Math.round(this.options.agentTimeoutMs / 1000)}s)`);
      }
    }
    this.reportWaiting();
  }
}
