// One `otto serve` per data directory and per database (src/server/serve-lock.ts): a second server
// on the same state would recover and run the same stages again. Real processes: the second server
// exits 1 naming the first, the first goes on serving, and the state is free again once it stops
// (or is killed: the PostgreSQL lock goes with its connection).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { createTestDatabase } from '../store/pg-database.js';
import { Env, stopProc, waitFor } from './server-helpers.js';

/** `otto serve` run to its exit (it must not start: 30 s at most). */
function serveOnce(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ottoBin, ['serve', '--listen', '127.0.0.1:0', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('one otto serve per data directory', () => {
  it('a second server on the same data directory exits 1 naming the first, which goes on serving', async (t) => {
    const env = await Env.create(t);
    const first = await env.startServer();
    const second = await serveOnce(['--data', env.dataDir], env.envVars);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`error: another otto serve \\(${first.proc.pid}@[^)]+\\) is using the data directory ${env.dataDir.replace(/[.]/g, '\\.')}`));
    assert.match(second.stderr, /help: stop it first, or give this server its own --data/);
    assert.doesNotMatch(second.stderr, /at .*\.js:\d+/, 'no stack trace');
    assert.ok((await fetch(`${first.url}/api/v1/health`)).ok, 'the first server still answers');

    // Stopped, it leaves the directory free; killed, the next server finds its lock stale.
    await stopProc(first.proc);
    assert.equal(existsSync(join(env.dataDir, 'serve.pid')), false);
    const again = await env.startServer();
    await stopProc(again.proc, 'SIGKILL');
    assert.equal(existsSync(join(env.dataDir, 'serve.pid')), true, 'a killed server leaves its pid file');
    const third = await env.startServer();
    assert.ok((await fetch(`${third.url}/api/v1/health`)).ok);
  });
});

const db = await createTestDatabase();
after(async () => {
  if (!('skip' in db)) await db.drop();
});

describe('one otto serve per PostgreSQL database', { skip: 'skip' in db ? db.skip : undefined }, () => {
  it('a server with its own data directory but the same database exits 1 naming the one that drives it', async (t) => {
    if ('skip' in db) return;
    const env = await Env.create(t);
    const first = await env.startServer({ args: ['--postgres', db.url] });
    const other = mkdtempSync(join(tmpdir(), 'otto-serve-lock-'));
    t.after(() => rmSync(other, { recursive: true, force: true }));
    const second = await serveOnce(['--data', other, '--postgres', db.url], env.envVars);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`error: another otto serve is using this database: otto serve server@[^:]+:${first.proc.pid}`));
    assert.match(second.stderr, /help: one server drives a database: stop the other first/);
    assert.ok((await fetch(`${first.url}/api/v1/health`)).ok, 'the first server still answers');

    // A server killed outright drops its connection, and with it the lock: another may start.
    await stopProc(first.proc, 'SIGKILL');
    const next = await Env.create(t);
    const started = await waitFor(
      'a server on the database once the first is gone',
      async () => {
        try {
          return await next.startServer({ args: ['--postgres', db.url] });
        } catch {
          return undefined;
        }
      },
      20_000,
      200,
    );
    assert.ok((await fetch(`${started.url}/api/v1/health`)).ok);
  });
});
