// Numbered PostgreSQL migrations, and the runner that applies them once however many servers start
// at the same moment. Append new ones; never edit one that has shipped. The version numbers follow
// the SQLite migrations (same tables at the same version), so both backends report one schema version.
//
// Types: times and ids are BIGINT (milliseconds since the epoch, BIGSERIAL ids); counters that stay
// small (event and log seq, attempt, position, exit code) are INTEGER. JSON is stored as TEXT, as in
// SQLite: it round-trips byte for byte (JSONB reorders keys and rejects "\u0000"), and nothing
// queries inside it yet. Columns that are sorted for listings use COLLATE "C" so the order is the
// byte order SQLite uses, whatever locale the cluster was initialised with. Log text is BYTEA
// because PostgreSQL TEXT cannot hold NUL, which step output may contain.

import type pg from 'pg';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, events, stages, logs, locks',
    sql: `
      CREATE TABLE runs (
        num BIGSERIAL PRIMARY KEY,
        project TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        plan TEXT,
        diagnostics TEXT,
        trigger TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        owner TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        rerun_of TEXT
      );
      CREATE INDEX runs_project ON runs (project, num);
      CREATE INDEX runs_status ON runs (status, num);

      CREATE TABLE events (
        run_num BIGINT NOT NULL REFERENCES runs (num),
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        at BIGINT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_num, seq)
      );

      CREATE TABLE stages (
        run_num BIGINT NOT NULL REFERENCES runs (num),
        path TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        message TEXT NOT NULL,
        exit_code INTEGER,
        PRIMARY KEY (run_num, path)
      );

      CREATE TABLE log_chunks (
        run_num BIGINT NOT NULL,
        stage TEXT COLLATE "C" NOT NULL,
        attempt INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER,
        stream TEXT NOT NULL,
        text BYTEA NOT NULL,
        PRIMARY KEY (run_num, stage, attempt, seq)
      );

      CREATE TABLE lock_queue (
        id BIGSERIAL PRIMARY KEY,
        lock_name TEXT NOT NULL,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        owner TEXT NOT NULL,
        UNIQUE (lock_name, run_id, stage)
      );
      CREATE INDEX lock_queue_lock ON lock_queue (lock_name, id);
      CREATE INDEX lock_queue_owner ON lock_queue (owner);
    `,
  },
  {
    version: 2,
    name: 'secrets, deployments, gate tokens',
    sql: `
      CREATE TABLE secrets (
        project TEXT COLLATE "C" NOT NULL,
        environment TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        sealed TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (project, environment, name)
      );

      CREATE TABLE deployments (
        id BIGSERIAL PRIMARY KEY,
        project TEXT NOT NULL,
        environment TEXT NOT NULL,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        sha TEXT NOT NULL,
        branch TEXT NOT NULL,
        status TEXT NOT NULL,
        at BIGINT NOT NULL,
        started_at BIGINT
      );
      CREATE INDEX deployments_env ON deployments (environment, id);
      CREATE INDEX deployments_project ON deployments (project, id);

      CREATE TABLE gate_tokens (
        token_hash TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        phase TEXT NOT NULL,
        idx INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        used_at BIGINT
      );
    `,
  },
  {
    version: 3,
    name: 'projects, tokens, agents, agent jobs, audit',
    sql: `
      CREATE TABLE projects (
        name TEXT COLLATE "C" PRIMARY KEY,
        repo TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        default_branch TEXT NOT NULL,
        webhook_secret TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE tokens (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );

      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL UNIQUE,
        labels TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        max_jobs INTEGER NOT NULL,
        version TEXT NOT NULL,
        registered_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      );

      CREATE TABLE agent_jobs (
        job_id TEXT COLLATE "C" PRIMARY KEY,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        assigned_at BIGINT NOT NULL,
        last_event_seq INTEGER NOT NULL DEFAULT 0,
        finished_at BIGINT
      );
      CREATE INDEX agent_jobs_agent ON agent_jobs (agent_id, finished_at);
      CREATE INDEX agent_jobs_run ON agent_jobs (run_id);

      CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
];

/**
 * Advisory lock keys (the two-int form, so they never meet single-bigint keys other software may
 * use). The class id spells 'otto'; advisory locks are per database, so tests on cloned databases
 * do not contend.
 */
export const ADVISORY_CLASS = 0x6f74746f;
export const ADVISORY_MIGRATE = 1;
export const ADVISORY_AUDIT = 2;
/** Held by the one `otto serve` that drives this database's runs, for as long as it runs. */
export const ADVISORY_SERVER = 3;
/** Lock-queue appends take (ADVISORY_LOCK_QUEUE_CLASS, hashtext(lock name)). */
export const ADVISORY_LOCK_QUEUE_CLASS = ADVISORY_CLASS + 1;

/**
 * Applies the migrations not yet applied, each in its own transaction with its bookkeeping row.
 * A session advisory lock is taken before anything else (even creating schema_migrations, whose
 * concurrent CREATE TABLE IF NOT EXISTS would otherwise race), so servers starting together
 * migrate once: the others wait, then find nothing left to do.
 */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_CLASS, ADVISORY_MIGRATE]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, Date.now()],
          );
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(
            `PostgreSQL migration ${m.version} (${m.name}) failed: ${(e as Error).message}`,
            { cause: e },
          );
        }
      }
      const r = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM schema_migrations',
      );
      return r.rows[0]?.v ?? 0;
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_CLASS, ADVISORY_MIGRATE])
        .catch((e: unknown) => {
          // The session lock would outlive us in the pool: drop the connection instead.
          broken = e instanceof Error ? e : new Error(String(e));
        });
    }
  } catch (e) {
    broken ??= e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    // A connection that failed mid-migration may still hold the session lock or an aborted
    // transaction: destroy it rather than return it to the pool.
    client.release(broken);
  }
}
