// Agents: the list people see, and the agent protocol (register, claim, events, heartbeat).

import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { prunableRuns } from '../workspace-prune.js';
import { AGENT_HTTP_VERSION, type ClaimRequest, type EventsRequest, type HeartbeatRequest, type RegisterRequest } from '../../protocol/agent-http.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { iso } from './views.js';

const Strings = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 });

const RegisterBody = Type.Object({
  protocol: Type.Integer(),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  labels: Strings,
  capabilities: Strings,
  maxJobs: Type.Integer({ minimum: 1, maximum: 1024 }),
  version: Type.String({ maxLength: 100 }),
});
const ClaimBody = Type.Object({ agentId: Type.String({ minLength: 1 }), free: Type.Integer({ minimum: 0 }), waitMs: Type.Integer({ minimum: 0, maximum: 120_000 }) });
const EventsBody = Type.Object({
  agentId: Type.String({ minLength: 1 }),
  events: Type.Array(Type.Object({ eventSeq: Type.Integer({ minimum: 1 }), event: Type.Object({ type: Type.String(), jobId: Type.String() }, { additionalProperties: true }) }), { maxItems: 10_000 }),
});
const HeartbeatBody = Type.Object({
  agentId: Type.String({ minLength: 1 }),
  jobs: Type.Array(Type.String(), { maxItems: 10_000 }),
  runs: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10_000 })),
});

export function agentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/v1/agents', { schema: { tags: ['agents'], summary: 'Agents: labels, state and current work' } }, async (request) => {
    await authorize(ctx.store, request, 'viewer');
    const status = new Map(ctx.dispatcher.status().map((s) => [s.agent.id, s]));
    const agents = (await ctx.store.listAgents()).map((a) => {
      const s = status.get(a.id);
      return {
        id: a.id,
        name: a.name,
        labels: a.labels,
        capabilities: a.capabilities,
        maxJobs: a.maxJobs,
        version: a.version,
        state: !s || !s.connected ? 'offline' : s.busy > 0 ? 'busy' : 'idle',
        jobs: s?.jobs ?? [],
        lastSeenAt: iso(s?.lastSeen ?? a.lastSeenAt),
      };
    });
    return { agents };
  });

  app.post<{ Body: RegisterRequest }>('/api/v1/agent/register', { schema: { tags: ['agent protocol'], summary: 'An agent registers (agent role)', body: RegisterBody } }, async (request) => {
    const who = await authorize(ctx.store, request, 'agent');
    const b = request.body;
    if (b.protocol !== AGENT_HTTP_VERSION) throw new ApiError('bad_request', `this server speaks agent protocol ${AGENT_HTTP_VERSION}, the agent ${b.protocol}: upgrade the older one`);
    const record = await ctx.store.upsertAgent({ name: b.name, labels: b.labels, capabilities: b.capabilities, maxJobs: b.maxJobs, version: b.version, lastSeenAt: Date.now(), at: Date.now() });
    await ctx.dispatcher.register(record);
    await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: 'agent.registered', target: `agent:${record.name}`, details: { id: record.id, labels: b.labels, capabilities: b.capabilities } });
    return { agentId: record.id, heartbeatMs: ctx.settings.heartbeatMs, claimWaitMs: ctx.settings.claimWaitMs };
  });

  app.post<{ Body: ClaimRequest }>('/api/v1/agent/claim', { schema: { tags: ['agent protocol'], summary: 'Long-poll for work and cancellations', body: ClaimBody } }, async (request, reply) => {
    await authorize(ctx.store, request, 'agent');
    const b = request.body;
    if (!ctx.dispatcher.isKnown(b.agentId)) throw new ApiError('gone', 'unknown agent: register again');
    let closed = false;
    const onClose = (): void => {
      closed = true;
      ctx.dispatcher.abandon(b.agentId, undefined);
    };
    request.raw.socket.once('close', onClose);
    const answer = await ctx.dispatcher.claim(b.agentId, b.free, b.waitMs);
    request.raw.socket.off('close', onClose);
    // The agent left before hearing the answer: its jobs go back to the queue, not to the void.
    if (closed || request.raw.socket.destroyed) {
      ctx.dispatcher.abandon(b.agentId, answer);
      return reply.status(204).send();
    }
    return answer;
  });

  app.post<{ Params: { jobId: string }; Body: EventsRequest }>(
    '/api/v1/agent/jobs/:jobId/events',
    { bodyLimit: 64 * 1024 * 1024, schema: { tags: ['agent protocol'], summary: 'Numbered job events (idempotent by eventSeq)', body: EventsBody } },
    async (request) => {
      await authorize(ctx.store, request, 'agent');
      const jobId = decodeURIComponent(request.params.jobId);
      for (const e of request.body.events) if (e.event.jobId !== jobId) throw new ApiError('bad_request', `event ${e.eventSeq} is about job ${e.event.jobId}, not ${jobId}`);
      return ctx.dispatcher.deliver(request.body.agentId, jobId, request.body.events);
    },
  );

  app.post<{ Body: HeartbeatRequest }>('/api/v1/agent/heartbeat', { schema: { tags: ['agent protocol'], summary: 'Agent heartbeat', body: HeartbeatBody } }, async (request) => {
    await authorize(ctx.store, request, 'agent');
    if (!ctx.dispatcher.isKnown(request.body.agentId)) throw new ApiError('gone', 'unknown agent: register again');
    const answer = ctx.dispatcher.heartbeat(request.body.agentId, request.body.jobs);
    const runs = request.body.runs;
    return runs && runs.length > 0 ? { ...answer, prune: await prunableRuns(ctx.store, runs, ctx.settings.keepWorkspaces) } : answer;
  });
}
