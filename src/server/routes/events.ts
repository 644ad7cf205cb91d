// Server-sent events: every change of a run, its stages and its gates, numbered by the run's event
// sequence so a client that reconnects with Last-Event-ID misses nothing.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromStored, RunMachine } from '../../engine/index.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { loadRun } from './runs.js';
import { stageView } from './views.js';

/** Runs-changed messages a stream sends at most this often: a busy server's lists refresh, not flood. */
const RUNS_CHANGED_EVERY_MS = 250;

export function eventRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: { project?: string } }>(
    '/api/v1/events/runs',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events saying which runs changed (created, started, a stage or gate moved, finished), for lists to refresh: event `runs`, data `{"runs": [ID, …]}`, at most 4 a second; ?project=NAME for one project',
        querystring: { type: 'object', properties: { project: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (request, reply) => {
      await authorize(ctx.store, request, 'viewer');
      const project = request.query.project;
      if (project !== undefined && !(await ctx.store.getProject(project))) throw new ApiError('not_found', `there is no project '${project}'`);
      const stream = openStream(request, reply);
      let pending = new Set<string>();
      let timer: NodeJS.Timeout | undefined;
      let last = 0;
      const flush = (): void => {
        timer = undefined;
        if (pending.size === 0) return;
        last = Date.now();
        stream.write(`event: runs\ndata: ${JSON.stringify({ runs: [...pending] })}\n\n`);
        pending = new Set();
      };
      // Which project a run is in: looked up once per run (runs never move).
      const projectOf = new Map<string, Promise<string | undefined>>();
      const unsubscribe = ctx.bus.subscribeAll((runId, change) => {
        if (change !== 'event') return; // a log line changes no list
        void (async () => {
          if (project !== undefined) {
            let p = projectOf.get(runId);
            if (!p) {
              // A store that fails to answer drops this message, not the server (the lists' slow poll catches up).
              projectOf.set(runId, (p = ctx.store.getRun(runId).then((r) => r?.project, () => undefined)));
              // A stream may stay open for days: remember the most recent runs only.
              if (projectOf.size > 1000) projectOf.delete(projectOf.keys().next().value as string);
            }
            if ((await p) !== project) return;
          }
          pending.add(runId);
          timer ??= setTimeout(flush, Math.max(0, last + RUNS_CHANGED_EVERY_MS - Date.now()));
        })();
      });
      await stream.closed;
      if (timer) clearTimeout(timer);
      unsubscribe();
      return reply;
    },
  );

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
      const stream = openStream(request, reply);
      // The machine folds the log so each message can say which stages changed and how.
      const machine = new RunMachine();
      let seq = 0;
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
              stream.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
            }
          } while (again);
        } finally {
          busy = false;
        }
      };
      await send();
      // A read that fails is tried again on the next wake-up or tick, and never takes the server down.
      const sendLater = (): void => void send().catch(() => undefined);
      const unsubscribe = ctx.bus.subscribe(run.id, sendLater);
      const poll = setInterval(sendLater, 1000);
      await stream.closed;
      clearInterval(poll);
      unsubscribe();
      return reply;
    },
  );
}

/**
 * Starts a server-sent event stream on `reply`: its headers, the retry hint and a keep-alive comment
 * every 15 s. `write` sends while the client is there; `closed` settles when the client's socket
 * closes (the socket, not the request: a request's own 'close' fires as soon as it has been read).
 */
function openStream(request: FastifyRequest, reply: FastifyReply): { write(text: string): void; readonly closed: Promise<void> } {
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  reply.raw.write('retry: 1000\n\n');
  let open = true;
  const write = (text: string): void => {
    if (open) reply.raw.write(text);
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), 15_000);
  const closed = new Promise<void>((resolve) =>
    request.raw.socket.once('close', () => {
      open = false;
      clearInterval(keepAlive);
      resolve();
    }),
  );
  return { write, closed };
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
