// The SQLite store shared by several otto processes: optimistic appends by expectedLastSeq,
// idempotent log chunks, FIFO lock queues, and migrations applied once under a race.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, type LogRecord } from '../../src/store/index.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { repoRoot } from '../helpers.js';

const storeModule = join(repoRoot, 'dist', 'src', 'store', 'index.js');
const fixtures = join(repoRoot, 'test', 'engine', 'fixtures');

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'otto-store-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'otto.db');
}

async function newRun(store: SqliteStore): Promise<string> {
  const run = await store.createRun({
    project: 'p',
    plan: null,
    pipeline: 'p',
    trigger: { event: 'manual', branch: '', tag: '', sha: '', actor: 'test' },
    status: 'queued',
    owner: null,
    at: 1,
  });
  return run.id;
}

/** Runs a fixture script with node; resolves with its exit code and stdout. */
function node(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('sqlite store: of two stores on one file appending at the same seq, one wins and the other is told', async (t) => {
  const path = tempDb(t);
  const a = new SqliteStore(path);
  const b = new SqliteStore(path);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const run = await newRun(a);
  const first = await a.appendEvents(run, [{ type: 'one', at: 10, data: { by: 'a' } }], 0, {
    run: { status: 'running' },
  });
  assert.deepEqual(first, { ok: true, lastSeq: 1 });
  // b has not seen a's event: its append (and its projection) must not happen.
  const lost = await b.appendEvents(run, [{ type: 'two', at: 11, data: { by: 'b' } }], 0, {
    run: { status: 'failed', message: 'from b' },
  });
  assert.deepEqual(lost, { ok: false, lastSeq: 1 });
  assert.equal((await b.getRun(run))?.status, 'running', 'a losing append changed the run');
  assert.equal((await b.readEvents(run)).length, 1);
  // Having caught up, b appends.
  assert.deepEqual(
    await b.appendEvents(
      run,
      [
        { type: 'two', at: 11, data: { by: 'b' } },
        { type: 'three', at: 12, data: {} },
      ],
      1,
    ),
    { ok: true, lastSeq: 3 },
  );
  const events = await a.readEvents(run);
  assert.deepEqual(
    events.map((e) => [e.seq, e.type, e.data.by ?? null]),
    [
      [1, 'one', 'a'],
      [2, 'two', 'b'],
      [3, 'three', null],
    ],
  );
  assert.deepEqual(
    (await a.readEvents(run, 2)).map((e) => e.seq),
    [3],
  );
  assert.equal((await a.getRun(run))?.lastSeq, 3);
});

test(
  'sqlite store: four processes racing to append keep one gap-free log with every event once',
  { timeout: 30_000 },
  async (t) => {
    const path = tempDb(t);
    const store = new SqliteStore(path);
    t.after(() => store.close());
    const run = await newRun(store);
    const at = Date.now() + 700;
    const writers = ['w1', 'w2', 'w3', 'w4'];
    const results = await Promise.all(
      writers.map((w) =>
        node([join(fixtures, 'store-append.mjs'), storeModule, path, run, w, '50', String(at)]),
      ),
    );
    for (const r of results) assert.match(r.stdout, /^ok \d+\n$/, r.stderr);
    const events = await store.readEvents(run);
    assert.equal(events.length, 200);
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    for (const w of writers) {
      const mine = events.filter((e) => e.data.writer === w).map((e) => e.data.i);
      assert.deepEqual(
        mine,
        Array.from({ length: 50 }, (_, i) => i),
        `${w}'s events are missing, doubled or out of order`,
      );
    }
  },
);

test('sqlite store: log chunks are idempotent by (stage, attempt, seq)', async (t) => {
  const path = tempDb(t);
  const a = new SqliteStore(path);
  const b = new SqliteStore(path);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const run = await newRun(a);
  const chunk = (seq: number, text: string, attempt = 1, stage = 'Build'): LogRecord => ({
    stage,
    attempt,
    seq,
    step: 0,
    stream: 'stdout',
    text,
  });
  await a.appendLogs(run, 'Build', 1, [chunk(2, 'two\n'), chunk(1, 'one\n')]);
  // The same batch delivered again (a retried delivery), through another connection, with other text.
  await b.appendLogs(run, 'Build', 1, [
    chunk(1, 'ONE AGAIN\n'),
    chunk(2, 'TWO AGAIN\n'),
    chunk(3, 'three\n'),
  ]);
  await a.appendLogs(run, 'Build', 2, [chunk(1, 'attempt two\n', 2)]);
  await a.appendLogs(run, 'Test', 1, [chunk(1, 'test one\n', 1, 'Test')]);
  const build1 = await b.readLogs(run, { stage: 'Build', attempt: 1 });
  assert.deepEqual(
    build1.map((c) => [c.seq, c.text]),
    [
      [1, 'one\n'],
      [2, 'two\n'],
      [3, 'three\n'],
    ],
  );
  assert.deepEqual(
    (await b.readLogs(run, { stage: 'Build', attempt: 2 })).map((c) => c.text),
    ['attempt two\n'],
  );
  assert.deepEqual(
    (await b.readLogs(run, { stage: 'Build', attempt: 1, afterSeq: 1 })).map((c) => c.seq),
    [2, 3],
  );
  assert.equal((await b.readLogs(run)).length, 5);
});

test('sqlite store: lock queues are first come first served, and dead owners are purged', async (t) => {
  const path = tempDb(t);
  const a = new SqliteStore(path);
  const b = new SqliteStore(path);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const id1 = await a.lockEnqueue({ lock: 'deploy', runId: '1', stage: 'D', owner: 'alive' });
  const id2 = await b.lockEnqueue({ lock: 'deploy', runId: '2', stage: 'D', owner: 'dead' });
  const id3 = await a.lockEnqueue({ lock: 'deploy', runId: '3', stage: 'D', owner: 'alive' });
  await b.lockEnqueue({ lock: 'other', runId: '2', stage: 'D', owner: 'dead' });
  assert.equal(
    await a.lockEnqueue({ lock: 'deploy', runId: '1', stage: 'D', owner: 'alive' }),
    id1,
    'enqueueing twice keeps the place',
  );
  assert.ok(id1 < id2 && id2 < id3);
  assert.equal((await b.lockHead('deploy'))?.runId, '1');
  await a.lockRelease('deploy', '1', 'D');
  assert.equal((await b.lockHead('deploy'))?.runId, '2');
  await b.lockPurge((owner) => owner !== 'dead');
  assert.equal((await a.lockHead('deploy'))?.runId, '3');
  assert.equal(await a.lockHead('other'), undefined);
});

test(
  'sqlite store: migrations are applied once when several processes open a fresh file at the same moment',
  { timeout: 30_000 },
  async (t) => {
    const path = tempDb(t);
    const at = Date.now() + 800;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        node([join(fixtures, 'store-open.mjs'), storeModule, path, String(at)]),
      ),
    );
    const latest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
    for (const r of results) assert.equal(r.stdout, `ok ${latest}\n`, r.stderr);
    const db = new Database(path, { readonly: true });
    try {
      const rows = db
        .prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version')
        .all() as Array<{ version: number; applied_at: number }>;
      assert.deepEqual(
        rows.map((r) => r.version),
        SQLITE_MIGRATIONS.map((m) => m.version),
      );
      // Opening it again applies nothing.
      const again = new SqliteStore(path);
      await again.close();
      const after = db
        .prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version')
        .all();
      assert.deepEqual(after, rows);
      assert.equal(
        (
          db
            .prepare(
              "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
            )
            .get() as { n: number }
        ).n,
        1,
      );
    } finally {
      db.close();
    }
  },
);
