// Server-sent events: every change of a run, its stages and its gates, numbered by the run's event
// sequence so a client that reconnects with Last-Event-ID misses nothing.

import type { FastifyInstance } from 'fastify';
import { fromStored, RunMachine } from '../../engine/index.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { loadRun } from './runs.js';
import { stageView } from './views.js';

export function eventRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: { run?: string; after?: string } }>(
    '/api/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events of a run: each event with its sequence number (id) and the stages it changed; resume with Last-Event-ID or ?after=SEQ',
        querystring: { type: 'object', properties: { run: { type: 'string', pattern: '^[0-9]{1,18}$' }, after: { type: 'string', pattern: '^[0-9]{1,18}$' } }, required: ['run'] },
      },
    },
    async (request, reply) => {
      await authorize(ctx.store, request, 'viewer');
      const runId = request.query.run;
      if (!runId) throw new ApiError('bad_request', 'name the run: /api/v1/events?run=ID');
      const run = await loadRun(ctx, runId);
      const header = request.headers['last-event-id'];
      const after = Number((Array.isArray(header) ? header[0] : header) ?? request.query.after ?? 0) || 0;
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      reply.raw.write(`retry: 1000\n\n`);
      // The machine folds the log so each message can say which stages changed and how.
      const machine = new RunMachine();
      let seq = 0;
      let closed = false;
      let busy = false;
      let again = false;
      const send = async (): Promise<void> => {
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          do {
            again = false;
            const events = await ctx.store.readEvents(run.id, seq);
            for (const e of events) {
              machine.apply(fromStored(e));
              seq = e.seq;
              const changed = machine.takeChanged(run.id);
              if (e.seq <= after) continue;
              const data = { seq: e.seq, type: e.type, at: new Date(e.at).toISOString(), data: redact(e.type, e.data), run: { id: run.id, status: machine.status, message: machine.message }, stages: changed.map(stageView) };
              if (!closed) reply.raw.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
            }
          } while (again);
        } finally {
          busy = false;
        }
      };
      await send();
      const unsubscribe = ctx.bus.subscribe(run.id, () => void send());
      const keepAlive = setInterval(() => !closed && reply.raw.write(': keep-alive\n\n'), 15_000);
      const poll = setInterval(() => void send(), 1000);
      await new Promise<void>((resolve) =>
        // The socket, not the request: a request's own 'close' fires as soon as it has been read.
        request.raw.socket.once('close', () => {
          closed = true;
          resolve();
        }),
      );
      clearInterval(keepAlive);
      clearInterval(poll);
      unsubscribe();
      return reply;
    },
  );
}

/**
 * What viewers get of an event: the plan is large and already available at /runs/ID/plan, so
 * events carry its hash only; a callback token's hash is the server's business alone.
 */
function redact(type: string, data: Record<string, unknown>): Record<string, unknown> {
  if (type === 'run.created') {
    const plan = data.plan as { planHash?: string } | undefined;
    return { planHash: plan?.planHash ?? '', reused: data.reused ?? {} };
  }
  if (type === 'gate.opened' && 'tokenHash' in data) {
    const { tokenHash: _hidden, ...rest } = data;
    return rest;
  }
  return data;
}
