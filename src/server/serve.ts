// `otto serve`: one process with the HTTP API, the scheduler and (later) the web UI. All state is
// in the store, so a restarted server continues every run.

import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SqliteStore, type Store } from '../store/index.js';
import { loadKey } from '../util/secret-box.js';
import { buildApp } from './app.js';
import type { ServerContext } from './context.js';
import { RemoteDispatcher } from './dispatcher.js';
import { RunBus } from './event-bus.js';
import { startGraphite } from './graphite.js';
import { Metrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import { Sources } from './source.js';
import { CronTriggers } from './cron.js';
import { lockServerState } from './serve-lock.js';
import { DEFAULT_KEEP_WORKSPACES } from '../engine/workspace-retention.js';
import { gcDue, startGc } from '../util/gc-schedule.js';

export interface ServeOptions {
  readonly listen: string;
  readonly dataDir: string;
  /** postgres://… to use PostgreSQL instead of SQLite in the data directory. */
  readonly postgres?: string;
  readonly secretKeyFile: string;
  readonly publicUrl?: string;
  readonly agentTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly graceMs: number;
  /** Finished runs per project whose workspaces agents keep; default 3. */
  readonly keepWorkspaces?: number;
  readonly graphite?: string;
  readonly graphitePrefix: string;
  readonly version: string;
  readonly log: (m: string) => void;
  readonly extend?: (app: FastifyInstance, ctx: ServerContext) => Promise<void> | void;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!m) throw new Error(`--listen '${listen}' is not HOST:PORT (for example 127.0.0.1:7070)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export async function openServerStore(options: Pick<ServeOptions, 'dataDir' | 'postgres'>): Promise<Store> {
  if (options.postgres) {
    const { PostgresStore } = await import('../store/postgres/postgres-store.js');
    return PostgresStore.connect(options.postgres);
  }
  mkdirSync(options.dataDir, { recursive: true });
  return new SqliteStore(join(options.dataDir, 'otto.db'));
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = parseListen(options.listen);
  const dataDir = resolve(options.dataDir);
  const store = await openServerStore({ ...options, dataDir });
  const owner = `server@${hostname()}:${process.pid}`;
  let unlock: () => Promise<void>;
  try {
    unlock = await lockServerState(dataDir, store, owner);
  } catch (e) {
    await store.close();
    throw e;
  }
  let key: Buffer | undefined;
  const secretKey = (): Buffer => (key ??= loadKey(options.secretKeyFile, true));
  const metrics = new Metrics();
  const bus = new RunBus();
  const dispatcher = new RemoteDispatcher({ store, agentTimeoutMs: options.agentTimeoutMs, metrics: { queueWait: (ms) => metrics.queueWait.observe(ms / 1000), dispatchLatency: (ms) => metrics.dispatchLatency.observe(ms / 1000), logBytes: (n) => metrics.logBytes.inc(n) } });
  await dispatcher.recover();
  let url = '';
  const scheduler = new Scheduler({
    store,
    dispatcher,
    sources: new Sources(dataDir),
    bus,
    dataDir,
    owner,
    publicUrl: () => options.publicUrl ?? url,
    secretKey,
    graceMs: options.graceMs,
    log: options.log,
    metrics: { stageFinished: (r) => metrics.stageFinished(r), runFinished: (s) => metrics.runsFinished.inc({ status: s }) },
  });
  const context: ServerContext = { store, scheduler, dispatcher, bus, secretKey, metrics, settings: { heartbeatMs: options.heartbeatMs, claimWaitMs: 25_000, version: options.version, keepWorkspaces: options.keepWorkspaces ?? DEFAULT_KEEP_WORKSPACES } };
  // Agents on this machine store artifacts and caches here: it must exist before the first one does.
  mkdirSync(join(dataDir, 'objects'), { recursive: true });
  const app = await buildApp(context, { objectsDir: join(dataDir, 'objects'), extend: (a) => options.extend?.(a, context) });
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  await scheduler.recover();
  const cron = new CronTriggers(store, scheduler, dataDir, options.log);
  await cron.start();
  const stopGraphite = options.graphite ? startGraphite(options.graphite, options.graphitePrefix, metrics, 10_000, options.log) : undefined;
  // Old artifacts and unused caches go about once a day, in a process of its own (otto gc).
  const collect = (): void => {
    if (!gcDue(join(options.dataDir, 'gc-stamp'))) return;
    options.log(`collecting garbage in ${join(options.dataDir, 'objects')} (otto gc --data ${options.dataDir})`);
    startGc(['--data', options.dataDir], options.dataDir);
  };
  collect();
  const gcTimer = setInterval(collect, 60 * 60 * 1000);
  gcTimer.unref();
  return {
    url,
    app,
    context,
    async close() {
      clearInterval(gcTimer);
      stopGraphite?.();
      cron.stop();
      await dispatcher.close();
      await app.close();
      await scheduler.stop();
      await unlock();
      await store.close();
    },
  };
}
