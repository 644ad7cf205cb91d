// The scale-out store: PostgreSQL through a `pg` pool, shared by any number of `otto serve`
// replicas. Semantics match SqliteStore exactly; where SQLite relies on its single writer, this
// store takes row locks (the run row for event appends, the token row for gate tokens) or
// transaction advisory locks (the audit chain, each lock queue) so concurrent writers serialise.
// Transactions run at READ COMMITTED: every statement after a lock sees what the previous holder
// committed.

import { RUN_PROJECTION_COLUMNS } from '../projection-columns.js';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { planJson, type Plan } from '../../protocol/plan.js';
import type { CreateRunInput, LockHolder, ServerLock, Store } from '../store.js';
import type {
  AgentJobRecord,
  AgentRecord,
  AuditRecord,
  ProjectRecord,
  Role,
  TokenRecord,
  AppendResult,
  DeploymentRecord,
  GateTokenRecord,
  LogRecord,
  NewEvent,
  Projection,
  RunFilter,
  RunRecord,
  StageRecord,
  StoredEvent,
  UseTokenResult,
} from '../types.js';
import { auditHash } from '../audit-hash.js';
import {
  ADVISORY_AUDIT,
  ADVISORY_SERVER,
  ADVISORY_CLASS,
  ADVISORY_LOCK_QUEUE_CLASS,
  migrate,
} from './migrations.js';

/**
 * BIGINT arrives as a string by default (it may exceed 2^53). Otto's BIGINTs are millisecond
 * times and row ids, far below that, so this pool reads them as numbers. Set per pool, not with
 * the global pg.types, so other users of `pg` in the process are unaffected.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

interface RunRow {
  num: number;
  project: string;
  pipeline: string;
  status: string;
  plan_hash: string;
  trigger: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  owner: string | null;
  last_seq: number;
  message: string;
  rerun_of: string | null;
}

const RUN_COLUMNS =
  'num, project, pipeline, status, plan_hash, trigger, created_at, started_at, finished_at, owner, last_seq, message, rerun_of';

function toRun(r: RunRow): RunRecord {
  return {
    id: String(r.num),
    project: r.project,
    pipeline: r.pipeline,
    status: r.status as RunRecord['status'],
    planHash: r.plan_hash,
    trigger: JSON.parse(r.trigger) as RunRecord['trigger'],
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    owner: r.owner,
    lastSeq: r.last_seq,
    message: r.message,
    rerunOf: r.rerun_of,
  };
}

/** A run id as its row number; -1 (matches nothing) for anything that is not one. */
function runNum(id: string): number {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 && String(n) === id ? n : -1;
}

/** SQLite reads a negative LIMIT as "no limit"; PostgreSQL rejects it, and LIMIT NULL is none. */
function limitOf(limit: number | undefined, fallback: number | null): number | null {
  const n = limit ?? fallback;
  return n === null || n < 0 ? null : n;
}

type Queryable = pg.Pool | pg.PoolClient;

export class PostgresStore implements Store {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /** Connects a pool to `url` (a postgres:// connection string) and applies pending migrations. */
  static async connect(
    url: string,
    options: { maxConnections?: number } = {},
  ): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      types: TYPES,
      max: options.maxConnections ?? 10,
    });
    // An idle connection that the server drops (restart, failover, pg_terminate_backend) is
    // reported here; without a listener it would crash the process. The pool discards that
    // connection and the next query opens a new one, so there is nothing else to do.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PostgresStore(pool, url);
  }

  /**
   * A session-level advisory lock on a connection of its own, outside the pool, named after
   * `owner` (application_name) so that a second server can say which one holds it. It goes with
   * the connection: a server that dies releases it.
   */
  async holdServerLock(owner: string): Promise<ServerLock> {
    const client = new pg.Client({ connectionString: this.url, application_name: `otto serve ${owner}`.slice(0, 63) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ADVISORY_CLASS, ADVISORY_SERVER]);
      if (r.rows[0]?.ok === true) return { held: true, release: () => client.end() };
      const h = await client.query<{ name: string; addr: string | null }>(
        "SELECT a.application_name AS name, host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted",
        [ADVISORY_CLASS, ADVISORY_SERVER],
      );
      const row = h.rows[0];
      await client.end();
      return { held: false, holder: row ? `${row.name || 'a session'}${row.addr ? ` from ${row.addr}` : ''}` : 'another session' };
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** The schema version applied (for `otto serve` upgrades and tests). */
  async schemaVersion(): Promise<number> {
    const r = await this.pool.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    return r.rows[0]?.v ?? 0;
  }

  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch((re: unknown) => {
        // A connection that cannot roll back is unusable: destroy it rather than pool it.
        broken = re instanceof Error ? re : new Error(String(re));
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  private async rows<R extends pg.QueryResultRow>(
    sql: string,
    args: unknown[] = [],
    on: Queryable = this.pool,
  ): Promise<R[]> {
    return (await on.query<R>(sql, args)).rows;
  }

  async createRun(input: CreateRunInput): Promise<RunRecord> {
    const [row] = await this.rows<RunRow>(
      `INSERT INTO runs (project, pipeline, status, plan_hash, plan, diagnostics, trigger, created_at, owner, message, rerun_of)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${RUN_COLUMNS}`,
      [
        input.project,
        input.pipeline,
        input.status,
        input.plan?.planHash ?? '',
        input.plan ? planJson(input.plan) : null,
        input.diagnostics === undefined ? null : JSON.stringify(input.diagnostics),
        JSON.stringify(input.trigger),
        input.at,
        input.owner,
        input.message ?? '',
        input.rerunOf ?? null,
      ],
    );
    if (!row) throw new Error('run vanished after insert');
    return toRun(row);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [row] = await this.rows<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE num = $1`, [
      runNum(id),
    ]);
    return row ? toRun(row) : undefined;
  }

  async getPlan(id: string): Promise<Plan | undefined> {
    const [row] = await this.rows<{ plan: string | null }>('SELECT plan FROM runs WHERE num = $1', [
      runNum(id),
    ]);
    return row?.plan ? (JSON.parse(row.plan) as Plan) : undefined;
  }

  async getDiagnostics(id: string): Promise<unknown> {
    const [row] = await this.rows<{ diagnostics: string | null }>(
      'SELECT diagnostics FROM runs WHERE num = $1',
      [runNum(id)],
    );
    return row?.diagnostics ? (JSON.parse(row.diagnostics) as unknown) : undefined;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.project !== undefined) where.push(`project = $${args.push(filter.project)}`);
    if (filter.status !== undefined) where.push(`status = $${args.push(filter.status)}`);
    if (filter.before !== undefined) where.push(`num < $${args.push(filter.before)}`);
    // trigger is JSON stored as text (kept byte-for-byte): read fields with a cast.
    if (filter.branch !== undefined) where.push(`(trigger::json ->> 'branch') = $${args.push(filter.branch)}`);
    if (filter.event !== undefined) where.push(`(trigger::json ->> 'event') = $${args.push(filter.event)}`);
    const limit = `$${args.push(limitOf(filter.limit, 50))}`;
    const sql = `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY num DESC LIMIT ${limit}`;
    return (await this.rows<RunRow>(sql, args)).map(toRun);
  }

  async listStages(runId: string): Promise<StageRecord[]> {
    const rows = await this.rows<{
      path: string;
      status: string;
      attempt: number;
      started_at: number | null;
      finished_at: number | null;
      message: string;
      exit_code: number | null;
    }>(
      'SELECT path, status, attempt, started_at, finished_at, message, exit_code FROM stages WHERE run_num = $1 ORDER BY position',
      [runNum(runId)],
    );
    return rows.map((r) => ({
      runId,
      path: r.path,
      status: r.status as StageRecord['status'],
      attempt: r.attempt,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      message: r.message,
      exitCode: r.exit_code,
    }));
  }

  async appendEvents(
    runId: string,
    events: readonly NewEvent[],
    expectedLastSeq: number,
    projection?: Projection,
  ): Promise<AppendResult> {
    const num = runNum(runId);
    return this.tx(async (c): Promise<AppendResult> => {
      // The run row lock serialises appenders of one run: a second writer waits here, then reads
      // the last_seq the first one committed and is refused.
      const [row] = await this.rows<{ last_seq: number }>(
        'SELECT last_seq FROM runs WHERE num = $1 FOR UPDATE',
        [num],
        c,
      );
      if (!row) throw new Error(`run ${runId} does not exist`);
      if (row.last_seq !== expectedLastSeq) return { ok: false, lastSeq: row.last_seq };
      const seq = row.last_seq + events.length;
      if (events.length > 0) {
        // One statement for the whole batch, whatever its size.
        await c.query(
          `INSERT INTO events (run_num, seq, type, at, data)
           SELECT $1::bigint, $2::int + e.ord, e.type, e.at, e.data FROM unnest($3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS e (type, at, data, ord)`,
          [
            num,
            row.last_seq,
            events.map((e) => e.type),
            events.map((e) => e.at),
            events.map((e) => JSON.stringify(e.data)),
          ],
        );
      }
      const sets = ['last_seq = $2'];
      const args: unknown[] = [num, seq];
      const run = projection?.run;
      if (run) {
        for (const [key, column] of RUN_PROJECTION_COLUMNS) {
          if (run[key] !== undefined) sets.push(`${column} = $${args.push(run[key])}`);
        }
      }
      await c.query(`UPDATE runs SET ${sets.join(', ')} WHERE num = $1`, args);
      if (projection?.stages?.length) await this.upsertStages(c, num, projection.stages);
      return { ok: true, lastSeq: seq };
    });
  }

  /**
   * Stage summaries: a new stage is placed after those already stored (positions follow first
   * insertion); an existing one keeps its place and takes the new values. As in SQLite, which
   * upserts one by one, a path given twice in one projection takes the place of its first
   * occurrence and the values of its last (one INSERT … ON CONFLICT may not touch a row twice,
   * so duplicates are folded here).
   */
  private async upsertStages(
    c: pg.PoolClient,
    num: number,
    stages: readonly StageRecord[],
  ): Promise<void> {
    const byPath = new Map<string, { index: number; stage: StageRecord }>();
    stages.forEach((stage, index) =>
      byPath.set(stage.path, { index: byPath.get(stage.path)?.index ?? index, stage }),
    );
    const list = [...byPath.values()];
    // The run row is locked, so the count cannot change under us.
    await c.query(
      `INSERT INTO stages (run_num, path, position, status, attempt, started_at, finished_at, message, exit_code)
       SELECT $1::bigint, s.path, (SELECT count(*) FROM stages WHERE run_num = $1::bigint) + s.idx, s.status, s.attempt, s.started_at, s.finished_at, s.message, s.exit_code
       FROM unnest($2::text[], $3::int[], $4::text[], $5::int[], $6::bigint[], $7::bigint[], $8::text[], $9::int[])
         AS s (path, idx, status, attempt, started_at, finished_at, message, exit_code)
       ON CONFLICT (run_num, path) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
         started_at = excluded.started_at, finished_at = excluded.finished_at, message = excluded.message, exit_code = excluded.exit_code`,
      [
        num,
        list.map((x) => x.stage.path),
        list.map((x) => x.index),
        list.map((x) => x.stage.status),
        list.map((x) => x.stage.attempt),
        list.map((x) => x.stage.startedAt),
        list.map((x) => x.stage.finishedAt),
        list.map((x) => x.stage.message),
        list.map((x) => x.stage.exitCode),
      ],
    );
  }

  async readEvents(runId: string, afterSeq = 0): Promise<StoredEvent[]> {
    const rows = await this.rows<{ seq: number; type: string; at: number; data: string }>(
      'SELECT seq, type, at, data FROM events WHERE run_num = $1 AND seq > $2 ORDER BY seq',
      [runNum(runId), afterSeq],
    );
    return rows.map((r) => ({
      runId,
      seq: r.seq,
      type: r.type,
      at: r.at,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  async setOwner(runId: string, owner: string | null): Promise<void> {
    await this.pool.query('UPDATE runs SET owner = $1 WHERE num = $2', [owner, runNum(runId)]);
  }

  async appendLogs(
    runId: string,
    stage: string,
    attempt: number,
    chunks: readonly LogRecord[],
  ): Promise<void> {
    if (chunks.length === 0) return;
    // One statement: atomic like SQLite's transaction, and a chunk already stored (or repeated in
    // this batch) is skipped, the first copy kept.
    await this.pool.query(
      `INSERT INTO log_chunks (run_num, stage, attempt, seq, step, stream, text)
       SELECT $1::bigint, $2::text, $3::int, c.seq, c.step, c.stream, c.text FROM unnest($4::int[], $5::int[], $6::text[], $7::bytea[]) AS c (seq, step, stream, text)
       ON CONFLICT (run_num, stage, attempt, seq) DO NOTHING`,
      [
        runNum(runId),
        stage,
        attempt,
        chunks.map((x) => x.seq),
        chunks.map((x) => x.step),
        chunks.map((x) => x.stream),
        chunks.map((x) => Buffer.from(x.text, 'utf8')),
      ],
    );
  }

  async readLogs(
    runId: string,
    options: { stage?: string; attempt?: number; afterSeq?: number; limit?: number } = {},
  ): Promise<LogRecord[]> {
    const args: unknown[] = [runNum(runId)];
    const where = ['run_num = $1'];
    if (options.stage !== undefined) where.push(`stage = $${args.push(options.stage)}`);
    if (options.attempt !== undefined) where.push(`attempt = $${args.push(options.attempt)}`);
    if (options.afterSeq !== undefined) where.push(`seq > $${args.push(options.afterSeq)}`);
    const limit = `$${args.push(limitOf(options.limit, null))}`;
    const rows = await this.rows<{
      stage: string;
      attempt: number;
      seq: number;
      step: number | null;
      stream: string;
      text: Buffer;
    }>(
      `SELECT stage, attempt, seq, step, stream, text FROM log_chunks WHERE ${where.join(' AND ')} ORDER BY stage, attempt, seq LIMIT ${limit}`,
      args,
    );
    return rows.map((r) => ({
      stage: r.stage,
      attempt: r.attempt,
      seq: r.seq,
      step: r.step,
      stream: r.stream as LogRecord['stream'],
      text: r.text.toString('utf8'),
    }));
  }

  async lockEnqueue(holder: LockHolder): Promise<number> {
    return this.tx(async (c) => {
      // Ids come from a sequence, and a sequence value is taken before its row commits: without
      // this lock a reader could see holder 5 at the head while holder 4 is still committing, and
      // both would believe they hold the lock. Serialising appends per lock name makes ids commit
      // in order.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        ADVISORY_LOCK_QUEUE_CLASS,
        holder.lock,
      ]);
      const [inserted] = await this.rows<{ id: number }>(
        // Queuing again (a resumed run) keeps the place in line but takes it over for the new owner.
        'INSERT INTO lock_queue (lock_name, run_id, stage, owner) VALUES ($1, $2, $3, $4) ON CONFLICT (lock_name, run_id, stage) DO UPDATE SET owner = EXCLUDED.owner RETURNING id',
        [holder.lock, holder.runId, holder.stage, holder.owner],
        c,
      );
      if (inserted) return inserted.id;
      const [existing] = await this.rows<{ id: number }>(
        'SELECT id FROM lock_queue WHERE lock_name = $1 AND run_id = $2 AND stage = $3',
        [holder.lock, holder.runId, holder.stage],
        c,
      );
      if (!existing) throw new Error(`lock queue entry for ${holder.lock} vanished`);
      return existing.id;
    });
  }

  async lockHead(lock: string): Promise<(LockHolder & { id: number }) | undefined> {
    const [row] = await this.rows<{
      id: number;
      lock_name: string;
      run_id: string;
      stage: string;
      owner: string;
    }>(
      'SELECT id, lock_name, run_id, stage, owner FROM lock_queue WHERE lock_name = $1 ORDER BY id LIMIT 1',
      [lock],
    );
    return row
      ? { id: row.id, lock: row.lock_name, runId: row.run_id, stage: row.stage, owner: row.owner }
      : undefined;
  }

  async lockRelease(lock: string, runId: string, stage: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM lock_queue WHERE lock_name = $1 AND run_id = $2 AND stage = $3',
      [lock, runId, stage],
    );
  }

  async lockPurge(isAlive: (owner: string) => boolean): Promise<void> {
    const owners = await this.rows<{ owner: string }>('SELECT DISTINCT owner FROM lock_queue');
    const dead = owners.map((r) => r.owner).filter((o) => !isAlive(o));
    if (dead.length > 0)
      await this.pool.query('DELETE FROM lock_queue WHERE owner = ANY($1::text[])', [dead]);
  }

  async putSecret(
    project: string,
    environment: string,
    name: string,
    sealed: string,
    at: number,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO secrets (project, environment, name, sealed, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project, environment, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      [project, environment, name, sealed, at],
    );
  }

  async getSecret(project: string, environment: string, name: string): Promise<string | undefined> {
    const [row] = await this.rows<{ sealed: string }>(
      'SELECT sealed FROM secrets WHERE project = $1 AND environment = $2 AND name = $3',
      [project, environment, name],
    );
    return row?.sealed;
  }

  async listSecrets(
    project: string,
  ): Promise<Array<{ environment: string; name: string; updatedAt: number }>> {
    const rows = await this.rows<{ environment: string; name: string; updated_at: number }>(
      'SELECT environment, name, updated_at FROM secrets WHERE project = $1 ORDER BY name, environment',
      [project],
    );
    return rows.map((r) => ({ environment: r.environment, name: r.name, updatedAt: r.updated_at }));
  }

  async deleteSecret(project: string, environment: string, name: string): Promise<boolean> {
    const r = await this.pool.query(
      'DELETE FROM secrets WHERE project = $1 AND environment = $2 AND name = $3',
      [project, environment, name],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async recordDeployment(d: Omit<DeploymentRecord, 'id'>): Promise<DeploymentRecord> {
    const [row] = await this.rows<{ id: number }>(
      'INSERT INTO deployments (project, environment, run_id, stage, sha, branch, status, at, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id',
      [d.project, d.environment, d.runId, d.stage, d.sha, d.branch, d.status, d.at, d.startedAt],
    );
    if (!row) throw new Error('deployment vanished after insert');
    return { ...d, id: row.id };
  }

  async listDeployments(
    filter: { project?: string; environment?: string; limit?: number } = {},
  ): Promise<DeploymentRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.project !== undefined) where.push(`project = $${args.push(filter.project)}`);
    if (filter.environment !== undefined)
      where.push(`environment = $${args.push(filter.environment)}`);
    const limit = `$${args.push(limitOf(filter.limit, 100))}`;
    const rows = await this.rows<{
      id: number;
      project: string;
      environment: string;
      run_id: string;
      stage: string;
      sha: string;
      branch: string;
      status: string;
      at: number;
      started_at: number | null;
    }>(
      `SELECT id, project, environment, run_id, stage, sha, branch, status, at, started_at FROM deployments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`,
      args,
    );
    return rows.map((r) => ({
      id: r.id,
      project: r.project,
      environment: r.environment,
      runId: r.run_id,
      stage: r.stage,
      sha: r.sha,
      branch: r.branch,
      status: r.status,
      at: r.at,
      startedAt: r.started_at,
    }));
  }

  async createGateToken(tokenHash: string, gate: GateTokenRecord, at: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO gate_tokens (token_hash, run_id, stage, phase, idx, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) DO NOTHING',
      [tokenHash, gate.runId, gate.stage, gate.phase, gate.index, at],
    );
  }

  async useGateToken(tokenHash: string, at: number): Promise<UseTokenResult> {
    return this.tx(async (c): Promise<UseTokenResult> => {
      // FOR UPDATE: a concurrent user waits here, then reads the used_at the first one committed.
      const [row] = await this.rows<{
        run_id: string;
        stage: string;
        phase: 'enter' | 'exit';
        idx: number;
        used_at: number | null;
      }>(
        'SELECT run_id, stage, phase, idx, used_at FROM gate_tokens WHERE token_hash = $1 FOR UPDATE',
        [tokenHash],
        c,
      );
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      await c.query('UPDATE gate_tokens SET used_at = $1 WHERE token_hash = $2', [at, tokenHash]);
      return {
        ok: true,
        gate: { runId: row.run_id, stage: row.stage, phase: row.phase, index: row.idx },
      };
    });
  }

  async createProject(p: ProjectRecord): Promise<void> {
    await this.pool.query(
      'INSERT INTO projects (name, repo, pipeline, default_branch, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [p.name, p.repo, p.pipeline, p.defaultBranch, p.webhookSecret, p.createdAt],
    );
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const [r] = await this.rows<ProjectRow>(
      'SELECT name, repo, pipeline, default_branch, webhook_secret, created_at FROM projects WHERE name = $1',
      [name],
    );
    return r ? toProject(r) : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return (
      await this.rows<ProjectRow>(
        'SELECT name, repo, pipeline, default_branch, webhook_secret, created_at FROM projects ORDER BY name',
      )
    ).map(toProject);
  }

  async createToken(t: {
    name: string;
    role: Role;
    hash: string;
    at: number;
  }): Promise<TokenRecord> {
    const [row] = await this.rows<{ id: number }>(
      'INSERT INTO tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
      [t.name, t.role, t.hash, t.at],
    );
    if (!row) throw new Error('token vanished after insert');
    return { id: row.id, name: t.name, role: t.role, createdAt: t.at, revokedAt: null };
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    const [r] = await this.rows<TokenRow>(
      'SELECT id, name, role, created_at, revoked_at FROM tokens WHERE hash = $1',
      [hash],
    );
    return r ? toToken(r) : undefined;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (
      await this.rows<TokenRow>(
        'SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id',
      )
    ).map(toToken);
  }

  async revokeToken(id: number, at: number): Promise<boolean> {
    const r = await this.pool.query(
      'UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [at, id],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async upsertAgent(
    a: Omit<AgentRecord, 'id' | 'registeredAt'> & { at: number },
  ): Promise<AgentRecord> {
    // One statement keyed on the name: two servers registering the same new agent at once both
    // end up with the one row (the loser's fresh uuid is simply not used).
    const [row] = await this.rows<{ id: string; registered_at: number }>(
      `INSERT INTO agents (id, name, labels, capabilities, max_jobs, version, registered_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, capabilities = excluded.capabilities, max_jobs = excluded.max_jobs,
         version = excluded.version, last_seen_at = excluded.last_seen_at
       RETURNING id, registered_at`,
      [
        randomUUID(),
        a.name,
        JSON.stringify(a.labels),
        JSON.stringify(a.capabilities),
        a.maxJobs,
        a.version,
        a.at,
      ],
    );
    if (!row) throw new Error('agent vanished after upsert');
    return {
      id: row.id,
      name: a.name,
      labels: a.labels,
      capabilities: a.capabilities,
      maxJobs: a.maxJobs,
      version: a.version,
      registeredAt: row.registered_at,
      lastSeenAt: a.at,
    };
  }

  async listAgents(): Promise<AgentRecord[]> {
    const rows = await this.rows<{
      id: string;
      name: string;
      labels: string;
      capabilities: string;
      max_jobs: number;
      version: string;
      registered_at: number;
      last_seen_at: number;
    }>(
      'SELECT id, name, labels, capabilities, max_jobs, version, registered_at, last_seen_at FROM agents ORDER BY name',
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      labels: JSON.parse(r.labels) as string[],
      capabilities: JSON.parse(r.capabilities) as string[],
      maxJobs: r.max_jobs,
      version: r.version,
      registeredAt: r.registered_at,
      lastSeenAt: r.last_seen_at,
    }));
  }

  async touchAgent(id: string, at: number): Promise<void> {
    await this.pool.query('UPDATE agents SET last_seen_at = $1 WHERE id = $2', [at, id]);
  }

  async createAgentJob(j: Omit<AgentJobRecord, 'lastEventSeq' | 'finishedAt'>): Promise<void> {
    await this.pool.query(
      'INSERT INTO agent_jobs (job_id, run_id, stage, attempt, agent_id, assigned_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING',
      [j.jobId, j.runId, j.stage, j.attempt, j.agentId, j.assignedAt],
    );
  }

  async getAgentJob(jobId: string): Promise<AgentJobRecord | undefined> {
    const [r] = await this.rows<AgentJobRow>(
      'SELECT job_id, run_id, stage, attempt, agent_id, assigned_at, last_event_seq, finished_at FROM agent_jobs WHERE job_id = $1',
      [jobId],
    );
    return r ? toAgentJob(r) : undefined;
  }

  async setAgentJobSeq(jobId: string, lastEventSeq: number): Promise<void> {
    // GREATEST in one UPDATE: the row lock makes concurrent raises compose, so it never goes down.
    await this.pool.query(
      'UPDATE agent_jobs SET last_event_seq = GREATEST(last_event_seq, $1) WHERE job_id = $2',
      [lastEventSeq, jobId],
    );
  }

  async finishAgentJob(jobId: string, at: number): Promise<void> {
    await this.pool.query(
      'UPDATE agent_jobs SET finished_at = COALESCE(finished_at, $1) WHERE job_id = $2',
      [at, jobId],
    );
  }

  async listAgentJobs(filter: {
    agentId?: string;
    active?: boolean;
    runId?: string;
  }): Promise<AgentJobRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.agentId !== undefined) where.push(`agent_id = $${args.push(filter.agentId)}`);
    if (filter.runId !== undefined) where.push(`run_id = $${args.push(filter.runId)}`);
    if (filter.active === true) where.push('finished_at IS NULL');
    if (filter.active === false) where.push('finished_at IS NOT NULL');
    const rows = await this.rows<AgentJobRow>(
      `SELECT job_id, run_id, stage, attempt, agent_id, assigned_at, last_event_seq, finished_at FROM agent_jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY assigned_at, job_id`,
      args,
    );
    return rows.map(toAgentJob);
  }

  async appendAudit(r: {
    at: number;
    actor: string;
    action: string;
    target: string;
    details: Record<string, unknown>;
  }): Promise<AuditRecord> {
    return this.tx(async (c): Promise<AuditRecord> => {
      // One appender at a time: the lock is taken before the statement that reads the last hash,
      // and READ COMMITTED gives that statement a snapshot that includes the previous appender's
      // commit, so two appends never share a previous hash (the chain never forks) and ids follow
      // chain order. An advisory lock rather than LOCK TABLE, which would also queue behind
      // autovacuum.
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_CLASS, ADVISORY_AUDIT]);
      const [last] = await this.rows<{ hash: string }>(
        'SELECT hash FROM audit ORDER BY id DESC LIMIT 1',
        [],
        c,
      );
      const prevHash = last?.hash ?? '';
      const hash = auditHash(prevHash, r);
      const [row] = await this.rows<{ id: number }>(
        'INSERT INTO audit (at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [r.at, r.actor, r.action, r.target, JSON.stringify(r.details), prevHash, hash],
        c,
      );
      if (!row) throw new Error('audit record vanished after insert');
      return { id: row.id, ...r, prevHash, hash };
    });
  }

  async listAudit(filter: { afterId?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const rows = await this.rows<{
      id: number;
      at: number;
      actor: string;
      action: string;
      target: string;
      details: string;
      prev_hash: string;
      hash: string;
    }>(
      'SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit WHERE id > $1 ORDER BY id LIMIT $2',
      [filter.afterId ?? 0, limitOf(filter.limit, null)],
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: JSON.parse(r.details) as Record<string, unknown>,
      prevHash: r.prev_hash,
      hash: r.hash,
    }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface ProjectRow {
  name: string;
  repo: string;
  pipeline: string;
  default_branch: string;
  webhook_secret: string;
  created_at: number;
}

function toProject(r: ProjectRow): ProjectRecord {
  return {
    name: r.name,
    repo: r.repo,
    pipeline: r.pipeline,
    defaultBranch: r.default_branch,
    webhookSecret: r.webhook_secret,
    createdAt: r.created_at,
  };
}

interface TokenRow {
  id: number;
  name: string;
  role: string;
  created_at: number;
  revoked_at: number | null;
}

function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

interface AgentJobRow {
  job_id: string;
  run_id: string;
  stage: string;
  attempt: number;
  agent_id: string;
  assigned_at: number;
  last_event_seq: number;
  finished_at: number | null;
}

function toAgentJob(r: AgentJobRow): AgentJobRecord {
  return {
    jobId: r.job_id,
    runId: r.run_id,
    stage: r.stage,
    attempt: r.attempt,
    agentId: r.agent_id,
    assignedAt: r.assigned_at,
    lastEventSeq: r.last_event_seq,
    finishedAt: r.finished_at,
  };
}
