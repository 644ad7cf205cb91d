// `otto serve`, `otto token`, `otto audit`: running Otto as a team's service.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { newApiToken, ROLES } from '../../server/auth.js';
import { openServerStore, startServer } from '../../server/serve.js';
import { ServeLockError } from '../../server/serve-lock.js';
import { verifyChain } from '../../store/index.js';
import type { Role } from '../../store/types.js';
import { defaultKeyFile } from '../../util/secret-box.js';
import { EXIT, UsageError, writeErr, writeOut } from '../io.js';
import { parseKeepWorkspaces } from '../keep-workspaces.js';

export interface ServeFlags {
  readonly listen?: string;
  readonly data?: string;
  readonly postgres?: string;
  readonly secretKey?: string;
  readonly publicUrl?: string;
  readonly agentTimeout?: string;
  readonly graphite?: string;
  readonly graphitePrefix?: string;
}

function dataDir(flags: { data?: string }): string {
  return resolve(flags.data ?? process.env.OTTO_DATA ?? 'otto-data');
}

/** A flag in seconds, as milliseconds. */
function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback * 1000;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} '${value}' is not a positive number of seconds`);
  return n * 1000;
}

export async function runServe(flags: ServeFlags, version: string, extend?: Parameters<typeof startServer>[0]['extend']): Promise<number> {
  const keepWorkspaces = parseKeepWorkspaces();
  let server;
  try {
    server = await startServer({
      listen: flags.listen ?? '127.0.0.1:7070',
      dataDir: dataDir(flags),
      ...(flags.postgres ? { postgres: flags.postgres } : {}),
      secretKeyFile: flags.secretKey ?? defaultKeyFile(),
      ...(flags.publicUrl ? { publicUrl: flags.publicUrl.replace(/\/+$/, '') } : {}),
      agentTimeoutMs: seconds(flags.agentTimeout, 30, '--agent-timeout'),
      heartbeatMs: 5000,
      graceMs: 5000,
      keepWorkspaces,
      ...(flags.graphite ? { graphite: flags.graphite } : {}),
      graphitePrefix: flags.graphitePrefix ?? 'otto',
      version,
      log: (m) => writeErr(`${new Date().toISOString()} ${m}`),
      ...(extend ? { extend } : {}),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`cannot listen on ${flags.listen ?? '127.0.0.1:7070'}: the address is in use`, 'choose another with --listen HOST:PORT');
    if (err.message?.startsWith('--listen') || err.message?.startsWith('--graphite')) throw new UsageError(err.message);
    if (e instanceof ServeLockError) throw new UsageError(e.message, e.help, EXIT.failed);
    throw e;
  }
  writeErr(`otto serve: listening on ${server.url} (data ${dataDir(flags)}${flags.postgres ? ', PostgreSQL' : ''})`);
  writeOut(server.url);
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      writeErr('otto serve: stopping (runs continue when the server starts again)');
      resolveStop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return EXIT.ok;
}

export async function runTokenCreate(flags: { role?: string; name?: string; data?: string; postgres?: string; out?: string }): Promise<number> {
  const role = (flags.role ?? '') as Role;
  if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`, 'otto token create --role operator --name ci');
  const store = await openServerStore({ dataDir: dataDir(flags), ...(flags.postgres ? { postgres: flags.postgres } : {}) });
  try {
    const { token, hash } = newApiToken();
    const name = flags.name ?? `${role}-${new Date().toISOString().slice(0, 10)}`;
    const record = await store.createToken({ name, role, hash, at: Date.now() });
    await store.appendAudit({ at: Date.now(), actor: 'otto token create', action: 'token.created', target: `token:${record.id}`, details: { name, role } });
    if (flags.out) writeFileSync(flags.out, `${token}\n`, { mode: 0o600 });
    else writeOut(token);
    writeErr(`created ${role} token '${name}' (id ${record.id}); it is shown once and stored only as a hash`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runTokenList(flags: { data?: string; postgres?: string; json?: boolean }): Promise<number> {
  const store = await openServerStore({ dataDir: dataDir(flags), ...(flags.postgres ? { postgres: flags.postgres } : {}) });
  try {
    const list = await store.listTokens();
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    if (flags.json) writeOut(JSON.stringify(list.map((t) => ({ id: t.id, name: t.name, role: t.role, createdAt: iso(t.createdAt), revokedAt: iso(t.revokedAt) })), null, 2));
    else for (const t of list) writeOut(`${String(t.id).padEnd(5)} ${t.role.padEnd(9)} ${t.name}${t.revokedAt ? '  (revoked)' : ''}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runTokenRevoke(id: string, flags: { data?: string; postgres?: string }): Promise<number> {
  const store = await openServerStore({ dataDir: dataDir(flags), ...(flags.postgres ? { postgres: flags.postgres } : {}) });
  try {
    if (!(await store.revokeToken(Number(id), Date.now()))) throw new UsageError(`there is no active token ${id}`, 'list them with otto token list', EXIT.failed);
    await store.appendAudit({ at: Date.now(), actor: 'otto token revoke', action: 'token.revoked', target: `token:${id}`, details: {} });
    writeOut(`revoked token ${id}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runAudit(action: 'verify' | 'export', flags: { data?: string; postgres?: string }): Promise<number> {
  const store = await openServerStore({ dataDir: dataDir(flags), ...(flags.postgres ? { postgres: flags.postgres } : {}) });
  try {
    const records = await store.listAudit({});
    if (action === 'export') {
      for (const r of records) writeOut(JSON.stringify({ ...r, at: new Date(r.at).toISOString() }));
      return EXIT.ok;
    }
    const broken = verifyChain(records);
    if (broken) {
      writeErr(`audit log is NOT intact: ${broken.reason}`);
      return EXIT.failed;
    }
    writeOut(`audit log intact: ${records.length} record${records.length === 1 ? '' : 's'}, chain verified${records.length ? ` up to ${records[records.length - 1]!.hash.slice(0, 16)}…` : ''}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
