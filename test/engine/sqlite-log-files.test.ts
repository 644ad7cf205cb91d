// The SQLite store keeps step output in files beside the database (migration 4): what a killed
// writer leaves behind, logs stored before the migration, and the files' place on disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, type LogRecord } from '../../src/store/index.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { repoRoot } from '../helpers.js';
import { LogBatcher } from '../../src/agent/log-batcher.js';
import { withTextOf, writtenChunk, writtenSlice, type AgentEvent } from '../../src/protocol/agent.js';

const storeModule = join(repoRoot, 'dist', 'src', 'store', 'index.js');

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'otto-logfiles-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'otto.db');
}

const trigger = { event: 'manual', branch: '', tag: '', sha: '', actor: 'test' };

async function newRun(store: SqliteStore): Promise<string> {
  return (
    await store.createRun({
      project: 'p',
      plan: null,
      pipeline: 'p',
      trigger,
      status: 'queued',
      owner: null,
      at: 1,
    })
  ).id;
}

const chunk = (seq: number, text: string, step: number | null = 0): LogRecord => ({
  stage: 'Build',
  attempt: 1,
  seq,
  step,
  stream: 'stdout',
  text,
});

/** The log files under the store's directory, relative to it. */
function logFiles(db: string): string[] {
  const root = `${db}-logs`;
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(join(root, f)).isFile(),
  );
}

test('sqlite store: step output goes to one file per stage attempt beside the database, the database keeps only its index', async (t) => {
  const path = tempDb(t);
  const store = new SqliteStore(path);
  t.after(() => store.close());
  const run = await newRun(store);
  const big = 'x'.repeat(100_000);
  await store.appendLogs(run, 'Build', 1, [chunk(1, 'one\n'), chunk(2, `${big}\n`)]);
  await store.appendLogs(run, 'Build', 2, [{ ...chunk(1, 'again\n'), attempt: 2 }]);
  await store.appendLogs(run, 'Deploy/EU', 1, [{ ...chunk(1, 'eu\n'), stage: 'Deploy/EU' }]);
  const files = logFiles(path).sort();
  assert.equal(files.length, 3, files.join(', '));
  assert.ok(
    files.every((f) => f.startsWith(`${run}/`)),
    files.join(', '),
  );
  assert.ok(
    files.some((f) => /^1\/Deploy_EU-[0-9a-f]{16}\.1\.log$/.test(f)),
    files.join(', '),
  );
  const db = new Database(path, { readonly: true });
  try {
    assert.equal((db.prepare('SELECT count(*) AS n FROM log_chunks').get() as { n: number }).n, 0);
    assert.equal((db.prepare('SELECT count(*) AS n FROM log_index').get() as { n: number }).n, 4);
  } finally {
    db.close();
  }
  assert.deepEqual(
    (await store.readLogs(run, { stage: 'Build', attempt: 1 })).map((c) => c.text),
    ['one\n', `${big}\n`],
  );
});

test('sqlite store: bytes a killed writer left past the index are never read and are cut off when the file is next written', async (t) => {
  const path = tempDb(t);
  let store = new SqliteStore(path);
  const run = await newRun(store);
  await store.appendLogs(run, 'Build', 1, [chunk(1, 'kept\n')]);
  await store.close();
  const [file] = logFiles(path);
  assert.ok(file);
  const full = join(`${path}-logs`, file);
  // What a writer killed between its write and its commit leaves: bytes no index row points at.
  appendFileSync(full, 'half-written batch that never committed\n');
  store = new SqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual(
    (await store.readLogs(run)).map((c) => c.text),
    ['kept\n'],
  );
  await store.appendLogs(run, 'Build', 1, [chunk(2, 'next\n')]);
  assert.deepEqual(
    (await store.readLogs(run)).map((c) => c.text),
    ['kept\n', 'next\n'],
  );
  assert.equal(statSync(full).size, Buffer.byteLength('kept\nnext\n'));
});

test(
  'sqlite store: a process killed while appending loses no chunk it was told was stored',
  { timeout: 30_000 },
  async (t) => {
    const path = tempDb(t);
    const store = new SqliteStore(path);
    t.after(() => store.close());
    const run = await newRun(store);
    const script = `
    const { SqliteStore } = await import(${JSON.stringify(storeModule)});
    const s = new SqliteStore(${JSON.stringify(path)});
    for (let seq = 1; ; seq++) {
      const text = 'line ' + seq + ' ' + 'y'.repeat(seq % 5000) + '\\n';
      await s.appendLogs(${JSON.stringify(run)}, 'Build', 1, [{ stage: 'Build', attempt: 1, seq, step: 0, stream: 'stdout', text }]);
      process.stdout.write(seq + '\\n');
    }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const l of lines) acked = Math.max(acked, Number(l));
        if (acked >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const logs = await store.readLogs(run);
    assert.ok(logs.length >= acked, `${logs.length} chunks stored, ${acked} acknowledged`);
    for (const [i, c] of logs.entries()) {
      assert.equal(c.seq, i + 1);
      assert.equal(c.text, `line ${c.seq} ${'y'.repeat(c.seq % 5000)}\n`);
    }
    // The next writer appends after what was committed.
    await store.appendLogs(run, 'Build', 1, [chunk(logs.length + 1, 'after the crash\n')]);
    assert.equal(
      (await store.readLogs(run, { afterSeq: logs.length })).at(0)?.text,
      'after the crash\n',
    );
  },
);

test('sqlite store: logs stored in the database before migration 4 stay readable, and their seqs are not stored twice', async (t) => {
  const path = tempDb(t);
  // A store at version 3, with logs in log_chunks, as an earlier otto left it.
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 3)) {
    old.exec(m.sql);
    old
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(m.version, m.name, 1);
  }
  old
    .prepare(
      "INSERT INTO runs (project, pipeline, status, plan_hash, trigger, created_at) VALUES ('p', 'p', 'running', '', ?, 1)",
    )
    .run(JSON.stringify(trigger));
  const insert = old.prepare(
    'INSERT INTO log_chunks (run_num, stage, attempt, seq, step, stream, text) VALUES (1, ?, 1, ?, 0, ?, ?)',
  );
  insert.run('Build', 1, 'stdout', 'old one\n');
  insert.run('Build', 2, 'stderr', 'old two\n');
  insert.run('Test', 1, 'stdout', 'old test\n');
  old.close();

  const store = new SqliteStore(path);
  t.after(() => store.close());
  assert.equal(store.schemaVersion(), Math.max(...SQLITE_MIGRATIONS.map((m) => m.version)));
  // A resumed run goes on logging: seq 2 is already stored (in log_chunks), 3 is new.
  await store.appendLogs('1', 'Build', 1, [chunk(2, 'two again\n'), chunk(3, 'new three\n')]);
  await store.appendLogs('1', 'Deploy', 1, [{ ...chunk(1, 'deploy\n'), stage: 'Deploy' }]);
  assert.deepEqual(
    (await store.readLogs('1')).map((c) => [c.stage, c.seq, c.stream, c.text]),
    [
      ['Build', 1, 'stdout', 'old one\n'],
      ['Build', 2, 'stderr', 'old two\n'],
      ['Build', 3, 'stdout', 'new three\n'],
      ['Deploy', 1, 'stdout', 'deploy\n'],
      ['Test', 1, 'stdout', 'old test\n'],
    ],
  );
  assert.deepEqual(
    (await store.readLogs('1', { stage: 'Build', afterSeq: 1, limit: 1 })).map((c) => c.text),
    ['old two\n'],
  );
});

test('sqlite store: a log file missing its tail (an operating-system crash) yields what is there', async (t) => {
  const path = tempDb(t);
  const store = new SqliteStore(path);
  t.after(() => store.close());
  const run = await newRun(store);
  await store.appendLogs(run, 'Build', 1, [chunk(1, 'first\n'), chunk(2, 'second\n')]);
  const [file] = logFiles(path);
  writeFileSync(join(`${path}-logs`, file as string), 'first\nsec');
  assert.deepEqual(
    (await store.readLogs(run)).map((c) => c.text),
    ['first\n', 'sec'],
  );
});

test('the database, its WAL and the log files are readable by their owner only, whatever the umask', async (t) => {
  const path = tempDb(t);
  const old = process.umask(0o022);
  try {
    const store = new SqliteStore(path);
    const run = await newRun(store);
    await store.appendLogs(run, 'Build', 1, [chunk(1, 'secret-ish output\n')]);
    const logs = join(`${path}-logs`, run);
    const files = readdirSync(logs);
    assert.equal(files.length, 1);
    for (const f of [path, `${path}-wal`, join(logs, files[0] as string)])
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.equal(statSync(logs).mode & 0o777, 0o700, logs);
    await store.close();
  } finally {
    process.umask(old);
  }
});

test('sqlite store: output the agent wrote to the attempt’s file itself (logFileFor) is only indexed, and reads back', async (t) => {
  const path = tempDb(t);
  const store = new SqliteStore(path);
  t.after(() => store.close());
  const run = await newRun(store);
  const file = await store.logFileFor(run, 'Build', 1);
  assert.ok(file);
  assert.equal(file.offset, 0);
  assert.ok(file.path.startsWith(`${path}-logs/`), file.path);
  // What the agent does (src/agent/log-batcher.ts): write the bytes, then say where they are.
  const events: AgentEvent[] = [];
  const agentSide = new LogBatcher('job', (e) => events.push(e), { file, batchBytes: 8 });
  agentSide.write(0, 'stdout', 'first line\nsecond ✓ line\n');
  agentSide.write(1, 'stderr', 'oops\n');
  agentSide.close();
  const chunks = events.flatMap((e) => (e.type === 'logs' ? e.chunks : []));
  assert.ok(chunks.every((c) => writtenSlice(c)?.path === file.path));
  await store.appendLogs(run, 'Build', 1, chunks.map((c) => withTextOf<LogRecord>(c, { stage: 'Build', attempt: 1, seq: c.seq, step: c.step, stream: c.stream })));
  const back = await store.readLogs(run);
  assert.equal(back.map((c) => c.text).join(''), 'first line\nsecond ✓ line\noops\n');
  assert.deepEqual(back.map((c) => c.stream), ['stdout', 'stderr']);
  // The next job of the same attempt (a resumed one) writes from the end of what is indexed.
  assert.deepEqual(await store.logFileFor(run, 'Build', 1), { path: file.path, offset: Buffer.byteLength('first line\nsecond ✓ line\noops\n') });
  // Nothing was written twice: the file holds the bytes once.
  assert.equal(statSync(file.path).size, Buffer.byteLength('first line\nsecond ✓ line\noops\n'));
});

test('sqlite store: a written chunk that names another file, or a batch that mixes written and carried bytes, is refused', async (t) => {
  const path = tempDb(t);
  const store = new SqliteStore(path);
  t.after(() => store.close());
  const run = await newRun(store);
  const elsewhere = writtenChunk<LogRecord>({ stage: 'Build', attempt: 1, seq: 1, step: 0, stream: 'stdout' }, { path: '/tmp/elsewhere.log', offset: 0, length: 3 });
  await assert.rejects(store.appendLogs(run, 'Build', 1, [elsewhere]), /was written to \/tmp\/elsewhere\.log, not to the attempt's file/);
  const file = await store.logFileFor(run, 'Build', 1);
  assert.ok(file);
  const written = writtenChunk<LogRecord>({ stage: 'Build', attempt: 1, seq: 1, step: 0, stream: 'stdout' }, { path: file.path, offset: 0, length: 3 });
  await assert.rejects(store.appendLogs(run, 'Build', 1, [written, chunk(2, 'carried\n')]), /mix bytes written by the agent with bytes to write/);
  assert.deepEqual(await store.readLogs(run), []);
});
