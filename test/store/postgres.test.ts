// The store conformance suite against PostgresStore (each test on freshly emptied tables of this
// file's database, cloned from the migrated template; two pools for the multi-instance cases),
// plus what only PostgreSQL has: migrations under an advisory lock, BIGINT ids.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { migrate, POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { storeConformance } from './conformance.js';
import { createTestDatabase, databaseUrl, tableEmptier, withAdmin } from './pg-database.js';

const db = await createTestDatabase();
const skip = 'skip' in db ? db.skip : undefined;
const emptier = 'skip' in db ? undefined : await tableEmptier(db.url);
after(async () => {
  // The emptier's connection first: dropping the database would cut it off mid-session.
  await emptier?.close();
  if (!('skip' in db)) await db.drop();
});
// A skipped suite is not counted in the runner's `# skipped` total; this case is, with the reason.
if (skip !== undefined) test('PostgreSQL is available', { skip }, () => undefined);

storeConformance({
  name: 'PostgresStore',
  ...(skip !== undefined ? { skip } : {}),
  open: async () => {
    if ('skip' in db || !emptier) throw new Error('no PostgreSQL');
    await emptier.empty();
    return PostgresStore.connect(db.url);
  },
  openShared: async () => {
    if ('skip' in db) throw new Error(db.skip);
    return PostgresStore.connect(db.url);
  },
});

describe('PostgresStore specifics', { skip }, () => {
  const live = (): { adminUrl: string; url: string } => {
    if ('skip' in db) throw new Error(db.skip);
    return db;
  };

  /** A new, empty database (no tables) for migration tests; dropped afterwards. */
  async function emptyDatabase(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
    const { adminUrl } = live();
    const name = `otto_empty_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0`));
    t.after(async () => {
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    });
    return databaseUrl(adminUrl, name);
  }

  const versions = async (url: string): Promise<Array<{ version: number; applied_at: string }>> =>
    withAdmin(
      url,
      async (c) =>
        (
          await c.query<{ version: number; applied_at: string }>(
            'SELECT version, applied_at FROM schema_migrations ORDER BY version',
          )
        ).rows,
    );

  test('servers starting at once on an empty database migrate it once', async (t) => {
    const url = await emptyDatabase(t);
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.connect(url)));
    try {
      const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version;
      for (const s of stores) assert.equal(await s.schemaVersion(), latest);
      const applied = await versions(url);
      assert.deepEqual(
        applied.map((r) => r.version),
        POSTGRES_MIGRATIONS.map((m) => m.version),
      );
      // Connecting again applies nothing.
      const again = await PostgresStore.connect(url);
      await again.close();
      assert.deepEqual(await versions(url), applied);
      // And every store works on the one schema.
      const run = await stores[0]!.createRun({
        project: 'p',
        plan: null,
        pipeline: 'x',
        trigger: { event: 'push', branch: 'main', tag: '', sha: 's', actor: 'a' },
        status: 'queued',
        owner: null,
        at: 1,
      });
      assert.equal((await stores[5]!.getRun(run.id))?.id, run.id);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a failing migration is rolled back, reported, and releases the migration lock', async (t) => {
    const url = await emptyDatabase(t);
    const pool = new pg.Pool({ connectionString: url });
    try {
      const broken = [
        ...POSTGRES_MIGRATIONS,
        { version: 999, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELEC 1' },
      ];
      await assert.rejects(
        migrate(pool, broken),
        /PostgreSQL migration 999 \(broken\) failed: syntax error/,
      );
      assert.deepEqual(
        (await versions(url)).map((r) => r.version),
        POSTGRES_MIGRATIONS.map((m) => m.version),
      );
      const half = await pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'half_done'");
      assert.equal(half.rowCount, 0, 'the failed migration left nothing behind');
      // The lock was released: another migrator gets through at once.
      assert.equal(
        await migrate(pool),
        POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version,
      );
    } finally {
      await pool.end();
    }
  });

  test('ids and times are BIGINT, read back as numbers', async () => {
    const { url } = live();
    await emptier?.empty();
    await withAdmin(url, (c) => c.query('ALTER SEQUENCE runs_num_seq RESTART WITH 5000000000'));
    const s = await PostgresStore.connect(url);
    try {
      const at = 4_102_444_800_000; // 2100-01-01, past 32-bit seconds
      const run = await s.createRun({
        project: 'p',
        plan: null,
        pipeline: 'x',
        trigger: { event: 'push', branch: 'main', tag: '', sha: 's', actor: 'a' },
        status: 'queued',
        owner: null,
        at,
      });
      assert.equal(run.id, '5000000000');
      assert.equal(run.createdAt, at);
      assert.deepEqual(
        await s.appendEvents(run.id, [{ type: 't', at, data: {} }], 0, { run: { startedAt: at } }),
        { ok: true, lastSeq: 1 },
      );
      const back = await s.getRun(run.id);
      assert.equal(back?.startedAt, at);
      assert.equal(typeof back?.startedAt, 'number');
      assert.deepEqual(
        (await s.listRuns({ before: 5_000_000_001 })).map((r) => r.id),
        ['5000000000'],
      );
      assert.equal((await s.readEvents(run.id))[0]?.at, at);
    } finally {
      await s.close();
    }
  });
});
