// A database per test file, cloned from a migrated template (CREATE DATABASE … TEMPLATE
// otto_template), on the cluster OTTO_TEST_PG_URL names or, failing that, on a private cluster
// started for this file. The template is rebuilt when the migrations change.

import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

export const TEMPLATE = 'otto_template';

export interface TestDatabase {
  /** The cluster's maintenance database (a superuser connection), for creating more databases. */
  readonly adminUrl: string;
  /** This file's database, migrated and empty. */
  readonly url: string;
  /** Drops this file's database (and stops the private cluster, if one was started). */
  drop(): Promise<void>;
}

/** A connection string for another database on the same cluster. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs `fn` on a single admin connection. */
export async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const FINGERPRINT = `otto-migrations ${createHash('sha256').update(JSON.stringify(POSTGRES_MIGRATIONS)).digest('hex')}`;
/** Serialises template builds and clones across test processes sharing one cluster. */
const TEMPLATE_LOCK: number[] = [0x6f74746f, 100];

/**
 * Creates the template if it is missing or was built from other migrations. The template uses an
 * ICU en-US collation where the server has ICU, so the tests prove the store's listings sort in
 * byte order (as SQLite does) whatever the database's locale.
 */
async function ensureTemplate(admin: pg.Client, adminUrl: string): Promise<void> {
  const r = await admin.query<{ comment: string | null }>(
    'SELECT shobj_description(oid, $2) AS comment FROM pg_database WHERE datname = $1',
    [TEMPLATE, 'pg_database'],
  );
  if (r.rows[0]?.comment === FINGERPRINT) return;
  if (r.rows.length > 0) await admin.query(`DROP DATABASE ${TEMPLATE} WITH (FORCE)`);
  try {
    await admin.query(
      `CREATE DATABASE ${TEMPLATE} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`,
    );
  } catch {
    await admin.query(`CREATE DATABASE ${TEMPLATE} TEMPLATE template0 ENCODING 'UTF8'`);
  }
  const store = await PostgresStore.connect(databaseUrl(adminUrl, TEMPLATE));
  await store.close();
  await admin.query(`COMMENT ON DATABASE ${TEMPLATE} IS '${FINGERPRINT}'`);
}

export async function createTestDatabase(): Promise<TestDatabase | { skip: string }> {
  let cluster: PgCluster | undefined;
  let adminUrl = process.env.OTTO_TEST_PG_URL;
  if (!adminUrl) {
    const started = await startPgCluster();
    if ('skip' in started) return started;
    cluster = started;
    adminUrl = started.url;
  }
  const name = `otto_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = adminUrl;
  await withAdmin(admin, async (c) => {
    await c.query('SELECT pg_advisory_lock($1, $2)', TEMPLATE_LOCK);
    try {
      await ensureTemplate(c, admin);
      await c.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1, $2)', TEMPLATE_LOCK);
    }
  });
  return {
    adminUrl: admin,
    url: databaseUrl(admin, name),
    drop: async () => {
      try {
        await withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      } finally {
        cluster?.stop();
      }
    },
  };
}

/**
 * Empties every table and restarts every sequence, on one connection kept for the test file, so
 * each test's store starts as fresh as a new database. DELETE rather than TRUNCATE: on tables this
 * small it skips TRUNCATE's new relation files (about 7 ms against 100 ms a reset).
 */
export async function tableEmptier(
  url: string,
): Promise<{ empty(): Promise<void>; close(): Promise<void> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const tables = (
    await c.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
    )
  ).rows.map((r) => r.tablename);
  const sequences = (
    await c.query<{ sequencename: string }>(
      "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'",
    )
  ).rows.map((r) => r.sequencename);
  // Runs last: events and stages reference them.
  tables.sort((a, b) => Number(a === 'runs') - Number(b === 'runs'));
  const sql = [
    ...tables.map((t) => `DELETE FROM "${t}";`),
    ...sequences.map((q) => `ALTER SEQUENCE "${q}" RESTART;`),
  ].join('\n');
  return {
    empty: async () => {
      await c.query(sql);
    },
    close: () => c.end(),
  };
}
