// Runs: trigger, list, read, cancel, plan, logs (with follow), and gate decisions.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import { acceptCallback, EventLog } from '../../engine/index.js';
import type { RunRecord } from '../../store/types.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { CallbackInput, type Decision, ProjectName, RunId, RunInput } from '../schemas.js';
import { NotTriggered } from '../scheduler.js';
import { matchRequest } from '../webhooks.js';
import { runView } from './views.js';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'invalid', 'interrupted'];
const ACTIVE = ['queued', 'running', 'waiting'];

export async function loadRun(ctx: ServerContext, id: string): Promise<RunRecord> {
  const run = /^[0-9]{1,18}$/.test(id) ? await ctx.store.getRun(id) : undefined;
  if (!run) throw new ApiError('not_found', `there is no run '${id}'`);
  return run;
}

export function runRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Params: Static<typeof ProjectName>; Body: Static<typeof RunInput> }>(
    '/api/v1/projects/:name/runs',
    { schema: { tags: ['runs'], summary: 'Trigger a run (operator)', params: ProjectName, body: RunInput } },
    async (request, reply) => {
      const who = await authorize(ctx.store, request, 'operator');
      const b = request.body ?? {};
      const event = b.event ?? 'api';
      let run: RunRecord;
      try {
        run = await ctx.scheduler.trigger(request.params.name, {
          ...(b.branch ? { branch: b.branch } : {}),
          ...(b.sha ? { sha: b.sha } : {}),
          ...(b.tag ? { tag: b.tag } : {}),
          event,
          ...(b.vars ? { vars: b.vars } : {}),
          actor: who.actor,
          accept: (plan) => matchRequest(plan.pipeline.triggers, event),
        });
      } catch (e) {
        if (e instanceof NotTriggered) throw new ApiError('conflict', e.message);
        throw e;
      }
      ctx.metrics.triggers.inc({ event });
      const body = runView(run, await ctx.store.listStages(run.id));
      if (run.status === 'invalid') body.diagnostics = await ctx.store.getDiagnostics(run.id);
      return reply.status(201).send(body);
    },
  );

  app.get('/api/v1/me', { schema: { tags: ['auth'], summary: 'Who the token belongs to, and its role' } }, async (request) => {
    const who = await authorize(ctx.store, request, 'viewer');
    return { name: who.token.name, role: who.token.role };
  });

  app.get<{ Params: Static<typeof ProjectName>; Querystring: { branch?: string; sha?: string; event?: string } }>(
    '/api/v1/projects/:name/plan',
    {
      schema: {
        tags: ['runs'],
        summary: 'The plan a branch or commit would run, without running it (the explain view)',
        params: ProjectName,
        querystring: { type: 'object', properties: { branch: { type: 'string', minLength: 1 }, sha: { type: 'string', pattern: '^[0-9a-fA-F]{4,64}$' }, event: { type: 'string', enum: ['manual', 'api', 'push', 'pull_request', 'tag', 'cron'] } }, additionalProperties: false },
      },
    },
    async (request) => {
      await authorize(ctx.store, request, 'viewer');
      const q = request.query;
      return ctx.scheduler.preview(request.params.name, { ...(q.branch ? { branch: q.branch } : {}), ...(q.sha ? { sha: q.sha } : {}), ...(q.event ? { event: q.event } : {}) });
    },
  );

  app.post<{ Params: Static<typeof RunId>; Body: { fromFailed?: boolean } | undefined }>(
    '/api/v1/runs/:id/rerun',
    { schema: { tags: ['runs'], summary: 'Run again with the same plan (operator); fromFailed reuses the stages that did not fail', params: RunId, body: { type: 'object', properties: { fromFailed: { type: 'boolean' } }, additionalProperties: false } } },
    async (request, reply) => {
      const who = await authorize(ctx.store, request, 'operator');
      const run = await ctx.scheduler.rerun((await loadRun(ctx, request.params.id)).id, request.body?.fromFailed === true, who.actor);
      return reply.status(201).send(runView(run, await ctx.store.listStages(run.id)));
    },
  );

  app.get<{ Querystring: { project?: string; status?: string; branch?: string; event?: string; limit?: number; before?: number } }>(
    '/api/v1/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'Runs, newest first (page with before=<id>)',
        querystring: {
          type: 'object',
          properties: {
            project: { type: 'string' },
            status: { type: 'string', enum: STATUSES },
            branch: { type: 'string' },
            event: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            before: { type: 'integer', minimum: 1 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      await authorize(ctx.store, request, 'viewer');
      const q = request.query;
      const runs = await ctx.store.listRuns({
        ...(q.project ? { project: q.project } : {}),
        ...(q.status ? { status: q.status as RunRecord['status'] } : {}),
        ...(q.branch ? { branch: q.branch } : {}),
        ...(q.event ? { event: q.event } : {}),
        limit: q.limit ?? 50,
        ...(q.before ? { before: q.before } : {}),
      });
      const out = [];
      for (const r of runs) out.push(runView(r, await ctx.store.listStages(r.id)));
      const last = runs[runs.length - 1];
      return { runs: out, next: runs.length === (q.limit ?? 50) && last ? Number(last.id) : null };
    },
  );

  app.get<{ Params: Static<typeof RunId> }>('/api/v1/runs/:id', { schema: { tags: ['runs'], summary: 'One run with its stages', params: RunId } }, async (request) => {
    await authorize(ctx.store, request, 'viewer');
    const run = await loadRun(ctx, request.params.id);
    const body = runView(run, await ctx.store.listStages(run.id));
    if (run.status === 'invalid') body.diagnostics = await ctx.store.getDiagnostics(run.id);
    const log = await EventLog.open(ctx.store, run.id);
    const gates = [];
    for (const path of log.machine.order) {
      const s = log.machine.stages.get(path)!;
      const decided = log.events.filter((e) => e.type === 'gate.decided' && e.stage === path);
      for (const d of decided) if (d.type === 'gate.decided') gates.push({ stage: path, phase: d.phase, index: d.index, decision: d.decision, actor: d.actor, comment: d.comment, at: new Date(d.at).toISOString() });
      if (s.status === 'waiting' && s.gate) {
        const g = s.plan.gates[s.gate.phase][s.gate.index];
        if (g) gates.push({ stage: path, phase: s.gate.phase, index: s.gate.index, waiting: true, kind: g.kind, ...(g.kind === 'input' ? { message: g.message, approvers: g.approvers } : g.kind === 'webhook' ? { description: g.description } : { url: g.url }) });
      }
    }
    body.gates = gates;
    return body;
  });

  app.get<{ Params: Static<typeof RunId> }>('/api/v1/runs/:id/plan', { schema: { tags: ['runs'], summary: "A run's plan (otto.plan/v1)", params: RunId } }, async (request) => {
    await authorize(ctx.store, request, 'viewer');
    const run = await loadRun(ctx, request.params.id);
    const plan = await ctx.store.getPlan(run.id);
    if (!plan) throw new ApiError('not_found', `run ${run.id} has no plan (it is invalid)`);
    return plan;
  });

  app.post<{ Params: Static<typeof RunId> }>('/api/v1/runs/:id/cancel', { schema: { tags: ['runs'], summary: 'Cancel a run (operator)', params: RunId } }, async (request, reply) => {
    const who = await authorize(ctx.store, request, 'operator');
    const run = await loadRun(ctx, request.params.id);
    if (!ACTIVE.includes(run.status)) throw new ApiError('conflict', `run ${run.id} has already ended (${run.status})`);
    const o = ctx.scheduler.orchestrator(run.id);
    if (o) o.cancel(who.actor, 'cancelled through the API');
    else {
      const log = await EventLog.open(ctx.store, run.id);
      await log.append([{ type: 'run.cancel-requested', at: Date.now(), actor: who.actor, reason: 'cancelled through the API' }]);
    }
    await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: 'run.cancelled', target: `run:${run.id}`, details: {} });
    ctx.bus.publish(run.id);
    return reply.status(202).send({ id: run.id, status: 'cancelling' });
  });

  // Stage paths hold '/', so stage routes take the rest of the URL and read the action at its end.
  app.route<{ Params: { id: string; '*': string }; Body: Static<typeof Decision> | undefined; Querystring: { follow?: string; attempt?: string } }>({
    method: ['GET', 'POST'],
    url: '/api/v1/runs/:id/stages/*',
    schema: { tags: ['runs'], summary: 'GET …/stages/PATH/logs (text; ?follow=1 streams), POST …/stages/PATH/approve or /reject {comment?, override?} (operator)' },
    handler: async (request, reply) => {
      const rest = request.params['*'];
      const m = /^(.+)\/(logs|approve|reject)$/.exec(rest);
      if (!m) throw new ApiError('not_found', `no route for stages/${rest}`);
      const stage = decodeURIComponent(m[1] as string);
      const action = m[2] as 'logs' | 'approve' | 'reject';
      if (action === 'logs') {
        if (request.method !== 'GET') throw new ApiError('not_found', 'logs are read with GET');
        return streamLogs(ctx, request.params.id, stage, request.query, reply, request);
      }
      if (request.method !== 'POST') throw new ApiError('not_found', `${action} is a POST`);
      const who = await authorize(ctx.store, request, 'operator');
      const body = (request.body ?? {}) as { comment?: unknown; override?: unknown };
      const unknown = typeof body === 'object' && body !== null ? Object.keys(body).filter((k) => k !== 'comment' && k !== 'override') : [];
      if (unknown.length) throw new ApiError('bad_request', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}: a decision takes only "comment" and "override"`);
      if (body.comment !== undefined && (typeof body.comment !== 'string' || body.comment.length > 2000)) throw new ApiError('bad_request', '"comment" must be a string of at most 2000 characters');
      if (body.override !== undefined && typeof body.override !== 'boolean') throw new ApiError('bad_request', '"override" must be true or false');
      const run = await loadRun(ctx, request.params.id);
      const log = await EventLog.open(ctx.store, run.id);
      const s = log.machine.stages.get(stage);
      if (!s) throw new ApiError('not_found', `run ${run.id} has no stage '${stage}'`);
      const gate = s.status === 'waiting' && s.gate ? s.plan.gates[s.gate.phase][s.gate.index] : undefined;
      if (!gate || !s.gate) throw new ApiError('conflict', `stage '${stage}' is not waiting at a gate (it is ${s.status})`);
      // A callback or poll gate waits for a system, not a person; an operator may still decide it
      // in its place, but only by saying so.
      const override = gate.kind !== 'input';
      if (override && body.override !== true) {
        const what = gate.kind === 'webhook' ? `a callback (${gate.description})` : `${gate.url} to answer ${gate.expect}`;
        throw new ApiError('conflict', `stage '${stage}' waits for ${what}, not for a person; send {"override": true} to decide it in its place`);
      }
      if (gate.kind === 'input' && gate.approvers.length && !gate.approvers.includes(who.actor)) throw new ApiError('forbidden', `only ${gate.approvers.join(', ')} may decide this gate`);
      const comment = typeof body.comment === 'string' ? body.comment : '';
      const decision = action === 'approve' ? 'approved' : 'rejected';
      const actor = override ? `${who.actor} (override)` : who.actor;
      const o = ctx.scheduler.orchestrator(run.id);
      if (o) o.decideGate(stage, s.gate.phase, s.gate.index, decision, actor, comment);
      else await log.append([{ type: 'gate.decided', at: Date.now(), stage, phase: s.gate.phase, index: s.gate.index, decision, actor, comment }]);
      const details = gate.kind === 'input' ? { comment, message: gate.message } : { comment, gate: gate.kind, waitedFor: gate.kind === 'webhook' ? gate.description : gate.url };
      await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: override ? `gate.overridden.${decision}` : `gate.${decision}`, target: `run:${run.id}/${stage}`, details });
      ctx.bus.publish(run.id);
      return reply.status(202).send({ id: run.id, stage, decision, actor });
    },
  });

  app.post<{ Params: { token: string }; Body: Static<typeof CallbackInput> }>(
    '/api/v1/callbacks/:token',
    { schema: { tags: ['gates'], summary: 'Complete a webhook gate (the single-use token is the credential)', params: { type: 'object', properties: { token: { type: 'string', pattern: '^[A-Za-z0-9_-]{10,200}$' } }, required: ['token'] }, body: CallbackInput, security: [] } },
    async (request, reply) => {
      const r = await acceptCallback(ctx.store, request.params.token, request.body, `callback from ${request.ip}`, Date.now());
      if (!r.ok) throw new ApiError(r.code === 'token_used' ? 'token_used' : r.code === 'unknown_token' ? 'not_found' : 'bad_request', r.message);
      await ctx.store.appendAudit({ at: Date.now(), actor: `callback from ${request.ip}`, action: `gate.${r.decision}`, target: `run:${r.runId}/${r.stage}`, details: { message: request.body.message ?? '' } });
      ctx.bus.publish(r.runId);
      return reply.status(200).send({ ok: true, run: r.runId, stage: r.stage, decision: r.decision });
    },
  );
}

async function streamLogs(
  ctx: ServerContext,
  id: string,
  stage: string,
  query: { follow?: string; attempt?: string },
  reply: FastifyReply,
  request: Parameters<typeof authorize>[1],
): Promise<FastifyReply> {
  await authorize(ctx.store, request, 'viewer');
  const run = await loadRun(ctx, id);
  const stages = await ctx.store.listStages(run.id);
  if (!stages.some((s) => s.path === stage)) throw new ApiError('not_found', `run ${run.id} has no stage '${stage}'`);
  const attempt = query.attempt !== undefined ? Number(query.attempt) : undefined;
  const follow = query.follow === '1' || query.follow === 'true';
  if (!follow) {
    const logs = await ctx.store.readLogs(run.id, { stage, ...(attempt !== undefined ? { attempt } : {}) });
    return reply.type('text/plain; charset=utf-8').send(logs.map((l) => l.text).join(''));
  }
  reply.raw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const seen = new Map<number, number>();
  let closed = false;
  // The socket, not the request: a request's own 'close' fires as soon as it has been read.
  request.raw.socket.once('close', () => (closed = true));
  // Each pass reads only what is new: per attempt, the chunks after the last one sent.
  const pump = async (): Promise<boolean> => {
    const st = (await ctx.store.listStages(run.id)).find((s) => s.path === stage);
    const attempts = attempt !== undefined ? [attempt] : Array.from({ length: Math.max(1, st?.attempt ?? 1) }, (_, i) => i + 1);
    for (const a of attempts) {
      for (;;) {
        const logs = await ctx.store.readLogs(run.id, { stage, attempt: a, afterSeq: seen.get(a) ?? 0, limit: 5000 });
        for (const l of logs) reply.raw.write(l.text);
        const last = logs.at(-1);
        if (last === undefined) break;
        seen.set(a, last.seq);
        if (logs.length < 5000) break;
      }
    }
    const now = await ctx.store.getRun(run.id);
    return !now || !ACTIVE.includes(now.status) || (st !== undefined && ['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped', 'unstable'].includes(st.status));
  };
  await new Promise<void>((resolve) => {
    let busy = false;
    let again = false;
    const tick = async (): Promise<void> => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          if (closed || (await pump())) {
            stop();
            return;
          }
        } while (again);
      } finally {
        busy = false;
      }
    };
    const unsubscribe = ctx.bus.subscribe(run.id, () => void tick());
    const timer = setInterval(() => void tick(), 500);
    const stop = (): void => {
      clearInterval(timer);
      unsubscribe();
      resolve();
    };
    void tick();
  });
  reply.raw.end();
  return reply;
}
