// A test double of `otto serve`'s agent routes (src/protocol/agent-http.ts) on a real socket: the
// remote agent talks to it over HTTP exactly as to the real server, which can go down and come back.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AssignedJob,
  ClaimRequest,
  EventsRequest,
  HeartbeatRequest,
  NumberedEvent,
  RegisterRequest,
} from '../../src/protocol/agent-http.js';
import type { AgentEvent } from '../../src/protocol/agent.js';

export interface FakeJob {
  readonly assigned: AssignedJob;
  readonly queuedAt: number;
  agentId: string | null;
  assignedAt: number | null;
  /** Stored events, contiguous from eventSeq 1 (as the real server stores them). */
  readonly stored: Array<NumberedEvent & { receivedAt: number }>;
  /** Events received again after they were stored (redeliveries, ignored). */
  duplicates: number;
  /** Events received beyond a gap (not stored). */
  gaps: number;
  cancel: string | null;
}

interface Waiter {
  readonly agentId: string;
  readonly free: number;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

export class FakeServer {
  token = 'test-agent-token-0123456789';
  heartbeatMs = 200;
  /** Events requests to store and then leave unanswered (the connection is cut). */
  loseAnswers = 0;
  claimWaitMs = 1000;
  readonly registers: RegisterRequest[] = [];
  readonly claims: Array<ClaimRequest & { at: number }> = [];
  readonly heartbeats: Array<HeartbeatRequest & { at: number }> = [];
  readonly jobs = new Map<string, FakeJob>();
  private readonly agents = new Map<string, string>();
  private readonly queue: FakeJob[] = [];
  private waiters: Waiter[] = [];
  private readonly cancels = new Map<string, Array<{ jobId: string; reason: string }>>();
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Open claims right now. */
  get openClaims(): number {
    return this.waiters.length;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts every connection, open claims included: the server is gone. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  enqueue(assigned: AssignedJob): FakeJob {
    const job: FakeJob = {
      assigned,
      queuedAt: performance.now(),
      agentId: null,
      assignedAt: null,
      stored: [],
      duplicates: 0,
      gaps: 0,
      cancel: null,
    };
    this.jobs.set(assigned.job.jobId, job);
    this.queue.push(job);
    for (const w of [...this.waiters]) if (w.free > 0) this.answer(w);
    return job;
  }

  /** Cancels a job: its agent hears through its open claim (or the next events answer). */
  cancel(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.agentId === null) throw new Error(`job ${jobId} is not assigned`);
    job.cancel = reason;
    const list = this.cancels.get(job.agentId) ?? [];
    list.push({ jobId, reason });
    this.cancels.set(job.agentId, list);
    for (const w of [...this.waiters]) if (w.agentId === job.agentId) this.answer(w);
  }

  events(jobId: string): AgentEvent[] {
    return this.jobs.get(jobId)?.stored.map((e) => e.event) ?? [];
  }

  finished(jobId: string): Extract<AgentEvent, { type: 'job-finished' }> | undefined {
    return this.events(jobId).find(
      (e): e is Extract<AgentEvent, { type: 'job-finished' }> => e.type === 'job-finished',
    );
  }

  /** The job's log text (chunks in seq order), optionally one stream's. */
  logs(jobId: string, stream?: string): string {
    return this.events(jobId)
      .flatMap((e) => (e.type === 'logs' ? e.chunks : []))
      .filter((c) => stream === undefined || c.stream === stream)
      .map((c) => c.text)
      .join('');
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(res, 401, {
        error: { code: 'unauthorized', message: 'unknown or revoked token' },
      });
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    const route = parts.slice(4).join('/');
    if (req.method !== 'POST' || parts.slice(0, 4).join('/') !== '/api/v1/agent')
      return send(res, 404, { error: { code: 'not-found', message: 'no such route' } });
    if (route === 'register') return this.register(body as RegisterRequest, res);
    if (route === 'claim') return this.claim(body as ClaimRequest, res);
    if (route === 'heartbeat') return this.heartbeat(body as HeartbeatRequest, res);
    if (parts[4] === 'jobs' && parts[6] === 'events' && parts.length === 7)
      return this.storeEvents(decodeURIComponent(parts[5]!), body as EventsRequest, res);
    send(res, 404, { error: { code: 'not-found', message: 'no such route' } });
  }

  private register(r: RegisterRequest, res: ServerResponse): void {
    this.registers.push(r);
    const id = this.agents.get(r.name) ?? `agent-${this.agents.size + 1}`;
    this.agents.set(r.name, id);
    send(res, 200, { agentId: id, heartbeatMs: this.heartbeatMs, claimWaitMs: this.claimWaitMs });
  }

  private claim(c: ClaimRequest, res: ServerResponse): void {
    this.claims.push({ ...c, at: performance.now() });
    if (![...this.agents.values()].includes(c.agentId))
      return send(res, 404, { error: { code: 'unknown-agent', message: 'register first' } });
    // A newer claim from the same agent ends the older one.
    for (const w of this.waiters.filter((x) => x.agentId === c.agentId)) this.reply(w, [], []);
    const timer = setTimeout(() => this.reply(waiter, [], []), c.waitMs);
    const waiter: Waiter = { agentId: c.agentId, free: c.free, res, timer };
    this.waiters.push(waiter);
    res.on('close', () => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      clearTimeout(timer);
    });
    this.answer(waiter);
  }

  /** Answers the claim now if there is work for it or a cancel; otherwise it stays open. */
  private answer(w: Waiter): void {
    const cancel = this.cancels.get(w.agentId) ?? [];
    const jobs: FakeJob[] = [];
    while (jobs.length < w.free && this.queue.length > 0) jobs.push(this.queue.shift()!);
    if (jobs.length === 0 && cancel.length === 0) return;
    this.cancels.delete(w.agentId);
    for (const j of jobs) {
      j.agentId = w.agentId;
      j.assignedAt = performance.now();
    }
    this.reply(
      w,
      jobs.map((j) => j.assigned),
      cancel,
    );
  }

  private reply(
    w: Waiter,
    jobs: AssignedJob[],
    cancel: Array<{ jobId: string; reason: string }>,
  ): void {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    send(w.res, 200, { jobs, cancel });
  }

  private storeEvents(jobId: string, r: EventsRequest, res: ServerResponse): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.agentId !== r.agentId)
      return send(res, 404, {
        error: { code: 'unknown-job', message: `no job ${jobId} for this agent` },
      });
    for (const e of r.events) {
      if (e.eventSeq <= job.stored.length) job.duplicates++;
      else if (e.eventSeq === job.stored.length + 1)
        job.stored.push({ ...e, receivedAt: performance.now() });
      else job.gaps++;
    }
    if (this.loseAnswers > 0) {
      this.loseAnswers--;
      res.destroy();
      return;
    }
    send(res, 200, { ack: job.stored.length, cancel: job.cancel });
  }

  private heartbeat(h: HeartbeatRequest, res: ServerResponse): void {
    this.heartbeats.push({ ...h, at: performance.now() });
    const unknown = h.jobs.filter((id) => this.jobs.get(id)?.agentId !== h.agentId);
    send(res, 200, { cancel: [], unknown });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
