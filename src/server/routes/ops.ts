// Health, metrics, deployments, DORA figures per environment, and the audit log.

import type { FastifyInstance } from 'fastify';
import { deployedNow, WHOLE_HISTORY } from '../../store/index.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { dora } from '../dora.js';
import { iso } from './views.js';

export function opsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/v1/health', { schema: { tags: ['ops'], summary: 'Liveness: the server and its store answer', security: [] } }, async () => {
    await ctx.store.listRuns({ limit: 1 });
    return { ok: true, version: ctx.settings.version, activeRuns: ctx.scheduler.activeRuns(), agents: ctx.dispatcher.connected().length };
  });

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', security: [] } }, async (_request, reply) => {
    const counts = new Map<string, number>();
    for (const r of await ctx.store.listRuns({ limit: 100_000 })) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    ctx.metrics.runsByStatus.reset();
    for (const [status, n] of counts) ctx.metrics.runsByStatus.set({ status }, n);
    const agents = ctx.dispatcher.status().filter((a) => a.connected);
    ctx.metrics.agents.set({ state: 'busy' }, agents.filter((a) => a.busy > 0).length);
    ctx.metrics.agents.set({ state: 'idle' }, agents.filter((a) => a.busy === 0).length);
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  app.get<{ Querystring: { environment?: string; project?: string; limit?: number } }>(
    '/api/v1/deployments',
    {
      schema: {
        tags: ['environments'],
        summary: 'What is deployed where, and the history',
        querystring: { type: 'object', properties: { environment: { type: 'string' }, project: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      },
    },
    async (request) => {
      await authorize(ctx.store, request, 'viewer');
      const q = request.query;
      const all = await ctx.store.listDeployments({ ...(q.environment ? { environment: q.environment } : {}), ...(q.project ? { project: q.project } : {}), limit: WHOLE_HISTORY });
      const list = all.slice(0, q.limit ?? 200);
      const current = deployedNow(all);
      const view = (d: (typeof list)[number]): Record<string, unknown> => ({ id: d.id, project: d.project, environment: d.environment, run: d.runId, stage: d.stage, sha: d.sha, branch: d.branch, status: d.status, at: iso(d.at) });
      return { current: current.map(view), history: list.map(view) };
    },
  );

  app.get<{ Params: { env: string }; Querystring: { days?: number; project?: string } }>(
    '/api/v1/environments/:env/metrics',
    {
      schema: {
        tags: ['environments'],
        summary: 'DORA figures for an environment: deploy frequency, lead time, change failure rate, time to restore',
        querystring: { type: 'object', properties: { days: { type: 'integer', minimum: 1, maximum: 3650 }, project: { type: 'string' } } },
      },
    },
    async (request) => {
      await authorize(ctx.store, request, 'viewer');
      const days = request.query.days ?? 30;
      const list = await ctx.store.listDeployments({ environment: request.params.env, ...(request.query.project ? { project: request.query.project } : {}), limit: WHOLE_HISTORY });
      const since = Date.now() - days * 86_400_000;
      const commitTimes = new Map<string, number | null>();
      for (const d of list) {
        if (d.at < since || commitTimes.has(d.runId)) continue;
        const run = await ctx.store.getRun(d.runId);
        commitTimes.set(d.runId, run?.trigger.commitAt ?? run?.createdAt ?? null);
      }
      return { environment: request.params.env, ...dora(list, commitTimes, Date.now(), days) };
    },
  );

  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/api/v1/audit',
    { schema: { tags: ['ops'], summary: 'The audit log (admin)', querystring: { type: 'object', properties: { after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } } },
    async (request) => {
      await authorize(ctx.store, request, 'admin');
      const records = await ctx.store.listAudit({ afterId: request.query.after ?? 0, limit: request.query.limit ?? 200 });
      return { records: records.map((r) => ({ ...r, at: iso(r.at) })) };
    },
  );
}
