// The embedded store: SQLite through better-sqlite3, in WAL mode so several otto processes can
// share one file (one writer at a time, readers never blocked). Step output goes to files beside the
// database, indexed here (log-files.ts).

import { RUN_PROJECTION_COLUMNS } from '../projection-columns.js';
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { planJson, type Plan } from '../../protocol/plan.js';
import type { CreateRunInput, LockHolder, Store } from '../store.js';
import type { AgentJobRecord, AgentRecord, AuditRecord, ProjectRecord, Role, TokenRecord, AppendResult, DeploymentRecord, GateTokenRecord, LogRecord, NewEvent, Projection, RunFilter, RunRecord, StageRecord, StoredEvent, UseTokenResult } from '../types.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { textBytes, writtenSlice } from '../../protocol/agent.js';
import { LogFiles, type LogSlice } from './log-files.js';
import { auditHash } from '../audit-hash.js';
import { randomUUID } from 'node:crypto';

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

const RUN_COLUMNS = 'num, project, pipeline, status, plan_hash, trigger, created_at, started_at, finished_at, owner, last_seq, message, rerun_of';

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

function runNum(id: string): number {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 && String(n) === id ? n : -1;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared once per SQL text: preparing costs more than running most of these statements. */
  private readonly statements = new Map<string, Database.Statement>();
  /** Step output files (`<path>-logs/`); null for an in-memory database, which keeps text in log_chunks. */
  private readonly logFiles: LogFiles | null;
  /** log_chunks holds text written before migration 4: read it too, and skip its seqs on append. */
  private readonly legacyLogs: boolean;
  private readonly appendEventsTx: (runId: string, events: readonly NewEvent[], expectedLastSeq: number, projection?: Projection) => AppendResult;
  /** Where appendLogs encodes a batch's texts (1 MiB, or the largest chunk): kept, to spare page faults. */
  private scratch: Buffer = Buffer.alloc(0);
  private readonly appendLogsTx: (num: number, stage: string, attempt: number, chunks: readonly LogRecord[]) => void;

  constructor(readonly path: string) {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      // Readable by this user only, whatever the umask: the store holds logs, names and hashes.
      // SQLite gives its -wal and -shm files the database file's mode.
      if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash can lose
    // the last transactions. That is the guarantee local runs need, at a fraction of FULL's cost.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.logFiles = path === ':memory:' ? null : new LogFiles(`${path}-logs`);
    this.legacyLogs = this.logFiles !== null && this.stmt('SELECT 1 FROM log_chunks LIMIT 1').get() !== undefined;
    // IMMEDIATE (see the callers): the write lock is taken before anything is read.
    this.appendEventsTx = this.db.transaction((runId: string, events: readonly NewEvent[], expectedLastSeq: number, projection?: Projection) => this.appendEventsNow(runId, events, expectedLastSeq, projection)).immediate;
    this.appendLogsTx = this.db.transaction((num: number, stage: string, attempt: number, chunks: readonly LogRecord[]) => this.appendLogsNow(num, stage, attempt, chunks)).immediate;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const apply = this.db.transaction(() => {
      const done = new Set((this.stmt('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
      for (const m of SQLITE_MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.stmt('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }
    });
    // IMMEDIATE: two processes opening a fresh store at once must not both migrate.
    apply.immediate();
  }

  /** The schema version applied (for `otto serve` upgrades and tests). */
  schemaVersion(): number {
    const r = this.stmt('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    return r.v ?? 0;
  }

  async createRun(input: CreateRunInput): Promise<RunRecord> {
    const info = this.stmt(
        `INSERT INTO runs (project, pipeline, status, plan_hash, plan, diagnostics, trigger, created_at, owner, message, rerun_of)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
    const run = await this.getRun(String(info.lastInsertRowid));
    if (!run) throw new Error('run vanished after insert');
    return run;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.stmt(`SELECT ${RUN_COLUMNS} FROM runs WHERE num = ?`).get(runNum(id)) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  async getPlan(id: string): Promise<Plan | undefined> {
    const row = this.stmt('SELECT plan FROM runs WHERE num = ?').get(runNum(id)) as { plan: string | null } | undefined;
    return row?.plan ? (JSON.parse(row.plan) as Plan) : undefined;
  }

  async getDiagnostics(id: string): Promise<unknown> {
    const row = this.stmt('SELECT diagnostics FROM runs WHERE num = ?').get(runNum(id)) as { diagnostics: string | null } | undefined;
    return row?.diagnostics ? (JSON.parse(row.diagnostics) as unknown) : undefined;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.project !== undefined) {
      where.push('project = ?');
      args.push(filter.project);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.before !== undefined) {
      where.push('num < ?');
      args.push(filter.before);
    }
    if (filter.branch !== undefined) {
      where.push("json_extract(trigger, '$.branch') = ?");
      args.push(filter.branch);
    }
    if (filter.event !== undefined) {
      where.push("json_extract(trigger, '$.event') = ?");
      args.push(filter.event);
    }
    const sql = `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY num DESC LIMIT ?`;
    args.push(filter.limit ?? 50);
    return (this.stmt(sql).all(...args) as RunRow[]).map(toRun);
  }

  async listStages(runId: string): Promise<StageRecord[]> {
    const rows = this.stmt('SELECT path, status, attempt, started_at, finished_at, message, exit_code FROM stages WHERE run_num = ? ORDER BY position')
      .all(runNum(runId)) as Array<{ path: string; status: string; attempt: number; started_at: number | null; finished_at: number | null; message: string; exit_code: number | null }>;
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

  async appendEvents(runId: string, events: readonly NewEvent[], expectedLastSeq: number, projection?: Projection): Promise<AppendResult> {
    return this.appendEventsTx(runId, events, expectedLastSeq, projection);
  }

  private appendEventsNow(runId: string, events: readonly NewEvent[], expectedLastSeq: number, projection?: Projection): AppendResult {
    const num = runNum(runId);
    const row = this.stmt('SELECT last_seq FROM runs WHERE num = ?').get(num) as { last_seq: number } | undefined;
    if (!row) throw new Error(`run ${runId} does not exist`);
    if (row.last_seq !== expectedLastSeq) return { ok: false, lastSeq: row.last_seq };
    const insert = this.stmt('INSERT INTO events (run_num, seq, type, at, data) VALUES (?, ?, ?, ?, ?)');
    let seq = row.last_seq;
    for (const e of events) insert.run(num, ++seq, e.type, e.at, JSON.stringify(e.data));
    const sets = ['last_seq = ?'];
    const args: unknown[] = [seq];
    const run = projection?.run;
    if (run) {
      for (const [key, column] of RUN_PROJECTION_COLUMNS) {
        if (run[key] !== undefined) {
          sets.push(`${column} = ?`);
          args.push(run[key]);
        }
      }
    }
    this.stmt(`UPDATE runs SET ${sets.join(', ')} WHERE num = ?`).run(...args, num);
    if (projection?.stages?.length) {
      const upsert = this.stmt(
        `INSERT INTO stages (run_num, path, position, status, attempt, started_at, finished_at, message, exit_code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_num, path) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
           started_at = excluded.started_at, finished_at = excluded.finished_at, message = excluded.message, exit_code = excluded.exit_code`,
      );
      const position = this.stmt('SELECT count(*) AS n FROM stages WHERE run_num = ?');
      let next = (position.get(num) as { n: number }).n;
      for (const s of projection.stages) {
        upsert.run(num, s.path, next++, s.status, s.attempt, s.startedAt, s.finishedAt, s.message, s.exitCode);
      }
    }
    return { ok: true, lastSeq: seq };
  }

  async readEvents(runId: string, afterSeq = 0): Promise<StoredEvent[]> {
    const rows = this.stmt('SELECT seq, type, at, data FROM events WHERE run_num = ? AND seq > ? ORDER BY seq').all(runNum(runId), afterSeq) as Array<{ seq: number; type: string; at: number; data: string }>;
    return rows.map((r) => ({ runId, seq: r.seq, type: r.type, at: r.at, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  async setOwner(runId: string, owner: string | null): Promise<void> {
    this.stmt('UPDATE runs SET owner = ? WHERE num = ?').run(owner, runNum(runId));
  }

  async logFileFor(runId: string, stage: string, attempt: number): Promise<{ path: string; offset: number } | undefined> {
    // Databases still holding output in log_chunks (from before migration 4) keep writing it themselves.
    if (this.logFiles === null || this.legacyLogs) return undefined;
    const num = runNum(runId);
    const known = this.stmt('SELECT file, size FROM log_files WHERE run_num = ? AND stage = ? AND attempt = ?').get(num, stage, attempt) as { file: string; size: number } | undefined;
    return { path: join(this.logFiles.dir, known?.file ?? LogFiles.fileFor(num, stage, attempt)), offset: known?.size ?? 0 };
  }

  async appendLogs(runId: string, stage: string, attempt: number, chunks: readonly LogRecord[]): Promise<void> {
    if (chunks.length === 0) return;
    const num = runNum(runId);
    if (this.logFiles === null) {
      const insert = this.stmt('INSERT OR IGNORE INTO log_chunks (run_num, stage, attempt, seq, step, stream, text) VALUES (?, ?, ?, ?, ?, ?, ?)');
      this.db.transaction(() => {
        for (const c of chunks) insert.run(num, stage, attempt, c.seq, c.step, c.stream, c.text);
      })();
      return;
    }
    this.appendLogsTx(num, stage, attempt, chunks);
  }

  /**
   * Inside an IMMEDIATE transaction: indexes the chunks not stored yet (the first copy of a seq wins,
   * as with log_chunks), then writes their bytes at the end of the attempt's file in one write; the
   * commit that follows acknowledges them.
   */
  private appendLogsNow(num: number, stage: string, attempt: number, chunks: readonly LogRecord[]): void {
    const files = this.logFiles as LogFiles;
    const known = this.stmt('SELECT file, size FROM log_files WHERE run_num = ? AND stage = ? AND attempt = ?').get(num, stage, attempt) as { file: string; size: number } | undefined;
    const file = known?.file ?? LogFiles.fileFor(num, stage, attempt);
    const start = known?.size ?? 0;
    const index = this.stmt('INSERT OR IGNORE INTO log_index (run_num, stage, attempt, seq, step, stream, byte_offset, byte_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const legacy = this.legacyLogs ? this.stmt('SELECT 1 FROM log_chunks WHERE run_num = ? AND stage = ? AND attempt = ? AND seq = ?') : null;
    const texts: Array<string | Buffer> = [];
    const lengths: number[] = [];
    let end = start;
    const byAgent = chunks[0] !== undefined && writtenSlice(chunks[0]) !== undefined;
    for (const c of chunks) {
      if (legacy?.get(num, stage, attempt, c.seq) !== undefined) continue;
      // A chunk the agent wrote to this attempt's file itself (logFileFor) is only indexed.
      const written = writtenSlice(c);
      // One attempt's output is written either by its agent or here, never both (a job has a file or not).
      if ((written !== undefined) !== byAgent) throw new Error(`log chunks of ${stage} mix bytes written by the agent with bytes to write`);
      if (written) {
        if (written.path !== join(files.dir, file)) throw new Error(`log chunk ${c.seq} of ${stage} was written to ${written.path}, not to the attempt's file ${file}`);
        if (index.run(num, stage, attempt, c.seq, c.step, c.stream, written.offset, written.length).changes === 0) continue;
        end = Math.max(end, written.offset + written.length);
        continue;
      }
      // A chunk that arrived as bytes (a frame) is written as those bytes, never decoded here.
      const bytes = textBytes(c);
      const length = bytes ? bytes.length : Buffer.byteLength(c.text, 'utf8');
      if (index.run(num, stage, attempt, c.seq, c.step, c.stream, end, length).changes === 0) continue;
      texts.push(bytes ?? c.text);
      lengths.push(length);
      end += length;
    }
    if (end === start && known !== undefined) return;
    // Bytes are written as they are; texts are encoded into one reused buffer; one writev per batch
    // (or per buffer-full of texts).
    let offset = start;
    let parts: Buffer[] = [];
    let size = 0;
    let used = 0;
    const writeParts = (): void => {
      if (parts.length > 0) files.write(file, offset, parts);
      offset += size;
      parts = [];
      size = 0;
      used = 0;
    };
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i] as string | Buffer;
      const length = lengths[i] as number;
      if (typeof t === 'string') {
        if (used + length > this.scratch.length) {
          writeParts();
          if (length > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(length, 1024 * 1024));
        }
        this.scratch.write(t, used, length, 'utf8');
        parts.push(this.scratch.subarray(used, used + length));
        used += length;
      } else parts.push(t);
      size += length;
    }
    writeParts();
    if (known === undefined) this.stmt('INSERT INTO log_files (run_num, stage, attempt, file, size) VALUES (?, ?, ?, ?, ?)').run(num, stage, attempt, file, end);
    else this.stmt('UPDATE log_files SET size = ? WHERE run_num = ? AND stage = ? AND attempt = ?').run(end, num, stage, attempt);
  }

  async readLogs(runId: string, options: { stage?: string; attempt?: number; afterSeq?: number; limit?: number } = {}): Promise<LogRecord[]> {
    const where = ['run_num = ?'];
    const args: unknown[] = [runNum(runId)];
    if (options.stage !== undefined) {
      where.push('stage = ?');
      args.push(options.stage);
    }
    if (options.attempt !== undefined) {
      where.push('attempt = ?');
      args.push(options.attempt);
    }
    if (options.afterSeq !== undefined) {
      where.push('seq > ?');
      args.push(options.afterSeq);
    }
    const limit = options.limit ?? -1;
    type Row = { stage: string; attempt: number; seq: number; step: number | null; stream: string; text: string | null; file: string | null; byte_offset: number | null; byte_length: number | null };
    const cond = where.join(' AND ');
    const chunked = `SELECT stage, attempt, seq, step, stream, text, NULL AS file, NULL AS byte_offset, NULL AS byte_length FROM log_chunks WHERE ${cond}`;
    const indexed = `SELECT i.stage, i.attempt, i.seq, i.step, i.stream, NULL AS text, f.file, i.byte_offset, i.byte_length
      FROM log_index i JOIN log_files f ON f.run_num = i.run_num AND f.stage = i.stage AND f.attempt = i.attempt WHERE ${where.map((w) => `i.${w}`).join(' AND ')}`;
    let rows: Row[];
    if (this.logFiles === null) rows = this.stmt(`${chunked} ORDER BY stage, attempt, seq LIMIT ?`).all(...args, limit) as Row[];
    else if (!this.legacyLogs) rows = this.stmt(`${indexed} ORDER BY i.stage, i.attempt, i.seq LIMIT ?`).all(...args, limit) as Row[];
    else rows = this.stmt(`SELECT * FROM (${indexed} UNION ALL ${chunked}) ORDER BY stage, attempt, seq LIMIT ?`).all(...args, ...args, limit) as Row[];
    const slices: LogSlice[] = [];
    for (const r of rows) if (r.file !== null) slices.push({ file: r.file, offset: r.byte_offset as number, length: r.byte_length as number });
    const bytes = slices.length > 0 ? (this.logFiles as LogFiles).read(slices) : [];
    let next = 0;
    return rows.map((r) => ({
      stage: r.stage,
      attempt: r.attempt,
      seq: r.seq,
      step: r.step,
      stream: r.stream as LogRecord['stream'],
      text: r.file === null ? (r.text as string) : (bytes[next++] as Buffer).toString('utf8'),
    }));
  }

  async lockEnqueue(holder: LockHolder): Promise<number> {
    // Queuing again (a resumed run) keeps the place in line but takes it over for the new owner.
    this.stmt('INSERT INTO lock_queue (lock, run_id, stage, owner) VALUES (?, ?, ?, ?) ON CONFLICT (lock, run_id, stage) DO UPDATE SET owner = excluded.owner')
      .run(holder.lock, holder.runId, holder.stage, holder.owner);
    const row = this.stmt('SELECT id FROM lock_queue WHERE lock = ? AND run_id = ? AND stage = ?').get(holder.lock, holder.runId, holder.stage) as { id: number };
    return row.id;
  }

  async lockHead(lock: string): Promise<(LockHolder & { id: number }) | undefined> {
    const row = this.stmt('SELECT id, lock, run_id, stage, owner FROM lock_queue WHERE lock = ? ORDER BY id LIMIT 1').get(lock) as
      | { id: number; lock: string; run_id: string; stage: string; owner: string }
      | undefined;
    return row ? { id: row.id, lock: row.lock, runId: row.run_id, stage: row.stage, owner: row.owner } : undefined;
  }

  async lockRelease(lock: string, runId: string, stage: string): Promise<void> {
    this.stmt('DELETE FROM lock_queue WHERE lock = ? AND run_id = ? AND stage = ?').run(lock, runId, stage);
  }

  async lockPurge(isAlive: (owner: string) => boolean): Promise<void> {
    const rows = this.stmt('SELECT DISTINCT owner FROM lock_queue').all() as Array<{ owner: string }>;
    for (const r of rows) if (!isAlive(r.owner)) this.stmt('DELETE FROM lock_queue WHERE owner = ?').run(r.owner);
  }

  async putSecret(project: string, environment: string, name: string, sealed: string, at: number): Promise<void> {
    this.stmt('INSERT INTO secrets (project, environment, name, sealed, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, environment, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at')
      .run(project, environment, name, sealed, at);
  }

  async getSecret(project: string, environment: string, name: string): Promise<string | undefined> {
    const row = this.stmt('SELECT sealed FROM secrets WHERE project = ? AND environment = ? AND name = ?').get(project, environment, name) as { sealed: string } | undefined;
    return row?.sealed;
  }

  async listSecrets(project: string): Promise<Array<{ environment: string; name: string; updatedAt: number }>> {
    const rows = this.stmt('SELECT environment, name, updated_at FROM secrets WHERE project = ? ORDER BY name, environment').all(project) as Array<{ environment: string; name: string; updated_at: number }>;
    return rows.map((r) => ({ environment: r.environment, name: r.name, updatedAt: r.updated_at }));
  }

  async deleteSecret(project: string, environment: string, name: string): Promise<boolean> {
    return this.stmt('DELETE FROM secrets WHERE project = ? AND environment = ? AND name = ?').run(project, environment, name).changes > 0;
  }

  async recordDeployment(d: Omit<DeploymentRecord, 'id'>): Promise<DeploymentRecord> {
    const info = this.stmt('INSERT INTO deployments (project, environment, run_id, stage, sha, branch, status, at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(d.project, d.environment, d.runId, d.stage, d.sha, d.branch, d.status, d.at, d.startedAt);
    return { ...d, id: Number(info.lastInsertRowid) };
  }

  async listDeployments(filter: { project?: string; environment?: string; limit?: number } = {}): Promise<DeploymentRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.project !== undefined) {
      where.push('project = ?');
      args.push(filter.project);
    }
    if (filter.environment !== undefined) {
      where.push('environment = ?');
      args.push(filter.environment);
    }
    args.push(filter.limit ?? 100);
    const rows = this.stmt(`SELECT id, project, environment, run_id, stage, sha, branch, status, at, started_at FROM deployments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args) as Array<{ id: number; project: string; environment: string; run_id: string; stage: string; sha: string; branch: string; status: string; at: number; started_at: number | null }>;
    return rows.map((r) => ({ id: r.id, project: r.project, environment: r.environment, runId: r.run_id, stage: r.stage, sha: r.sha, branch: r.branch, status: r.status, at: r.at, startedAt: r.started_at }));
  }

  async createGateToken(tokenHash: string, gate: GateTokenRecord, at: number): Promise<void> {
    this.stmt('INSERT OR IGNORE INTO gate_tokens (token_hash, run_id, stage, phase, idx, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(tokenHash, gate.runId, gate.stage, gate.phase, gate.index, at);
  }

  async useGateToken(tokenHash: string, at: number): Promise<UseTokenResult> {
    const tx = this.db.transaction((): UseTokenResult => {
      const row = this.stmt('SELECT run_id, stage, phase, idx, used_at FROM gate_tokens WHERE token_hash = ?').get(tokenHash) as
        | { run_id: string; stage: string; phase: 'enter' | 'exit'; idx: number; used_at: number | null }
        | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      this.stmt('UPDATE gate_tokens SET used_at = ? WHERE token_hash = ?').run(at, tokenHash);
      return { ok: true, gate: { runId: row.run_id, stage: row.stage, phase: row.phase, index: row.idx } };
    });
    return tx.immediate();
  }

  async createProject(p: ProjectRecord): Promise<void> {
    this.stmt('INSERT INTO projects (name, repo, pipeline, default_branch, webhook_secret, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(p.name, p.repo, p.pipeline, p.defaultBranch, p.webhookSecret, p.createdAt);
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const r = this.stmt('SELECT name, repo, pipeline, default_branch, webhook_secret, created_at FROM projects WHERE name = ?').get(name) as ProjectRow | undefined;
    return r ? toProject(r) : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return (this.stmt('SELECT name, repo, pipeline, default_branch, webhook_secret, created_at FROM projects ORDER BY name').all() as ProjectRow[]).map(toProject);
  }

  async createToken(t: { name: string; role: Role; hash: string; at: number }): Promise<TokenRecord> {
    const info = this.stmt('INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)').run(t.name, t.role, t.hash, t.at);
    return { id: Number(info.lastInsertRowid), name: t.name, role: t.role, createdAt: t.at, revokedAt: null };
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    const r = this.stmt('SELECT id, name, role, created_at, revoked_at FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
    return r ? toToken(r) : undefined;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.stmt('SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id').all() as TokenRow[]).map(toToken);
  }

  async revokeToken(id: number, at: number): Promise<boolean> {
    return this.stmt('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes > 0;
  }

  async upsertAgent(a: Omit<AgentRecord, 'id' | 'registeredAt'> & { at: number }): Promise<AgentRecord> {
    const existing = this.stmt('SELECT id, registered_at FROM agents WHERE name = ?').get(a.name) as { id: string; registered_at: number } | undefined;
    const id = existing?.id ?? randomUUID();
    const registeredAt = existing?.registered_at ?? a.at;
    this.stmt(
        `INSERT INTO agents (id, name, labels, capabilities, max_jobs, version, registered_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, capabilities = excluded.capabilities, max_jobs = excluded.max_jobs, version = excluded.version, last_seen_at = excluded.last_seen_at`,
      )
      .run(id, a.name, JSON.stringify(a.labels), JSON.stringify(a.capabilities), a.maxJobs, a.version, registeredAt, a.at);
    return { id, name: a.name, labels: a.labels, capabilities: a.capabilities, maxJobs: a.maxJobs, version: a.version, registeredAt, lastSeenAt: a.at };
  }

  async listAgents(): Promise<AgentRecord[]> {
    const rows = this.stmt('SELECT id, name, labels, capabilities, max_jobs, version, registered_at, last_seen_at FROM agents ORDER BY name').all() as Array<{
      id: string;
      name: string;
      labels: string;
      capabilities: string;
      max_jobs: number;
      version: string;
      registered_at: number;
      last_seen_at: number;
    }>;
    return rows.map((r) => ({ id: r.id, name: r.name, labels: JSON.parse(r.labels) as string[], capabilities: JSON.parse(r.capabilities) as string[], maxJobs: r.max_jobs, version: r.version, registeredAt: r.registered_at, lastSeenAt: r.last_seen_at }));
  }

  async touchAgent(id: string, at: number): Promise<void> {
    this.stmt('UPDATE agents SET last_seen_at = ? WHERE id = ?').run(at, id);
  }

  async createAgentJob(j: Omit<AgentJobRecord, 'lastEventSeq' | 'finishedAt'>): Promise<void> {
    this.stmt('INSERT OR IGNORE INTO agent_jobs (job_id, run_id, stage, attempt, agent_id, assigned_at) VALUES (?, ?, ?, ?, ?, ?)').run(j.jobId, j.runId, j.stage, j.attempt, j.agentId, j.assignedAt);
  }

  async getAgentJob(jobId: string): Promise<AgentJobRecord | undefined> {
    const r = this.stmt('SELECT job_id, run_id, stage, attempt, agent_id, assigned_at, last_event_seq, finished_at FROM agent_jobs WHERE job_id = ?').get(jobId) as AgentJobRow | undefined;
    return r ? toAgentJob(r) : undefined;
  }

  async setAgentJobSeq(jobId: string, lastEventSeq: number): Promise<void> {
    this.stmt('UPDATE agent_jobs SET last_event_seq = max(last_event_seq, ?) WHERE job_id = ?').run(lastEventSeq, jobId);
  }

  async finishAgentJob(jobId: string, at: number): Promise<void> {
    this.stmt('UPDATE agent_jobs SET finished_at = coalesce(finished_at, ?) WHERE job_id = ?').run(at, jobId);
  }

  async listAgentJobs(filter: { agentId?: string; active?: boolean; runId?: string }): Promise<AgentJobRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.agentId !== undefined) {
      where.push('agent_id = ?');
      args.push(filter.agentId);
    }
    if (filter.runId !== undefined) {
      where.push('run_id = ?');
      args.push(filter.runId);
    }
    if (filter.active === true) where.push('finished_at IS NULL');
    if (filter.active === false) where.push('finished_at IS NOT NULL');
    const rows = this.stmt(`SELECT job_id, run_id, stage, attempt, agent_id, assigned_at, last_event_seq, finished_at FROM agent_jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY assigned_at`)
      .all(...args) as AgentJobRow[];
    return rows.map(toAgentJob);
  }

  async appendAudit(r: { at: number; actor: string; action: string; target: string; details: Record<string, unknown> }): Promise<AuditRecord> {
    const tx = this.db.transaction((): AuditRecord => {
      const last = this.stmt('SELECT hash FROM audit ORDER BY id DESC LIMIT 1').get() as { hash: string } | undefined;
      const prevHash = last?.hash ?? '';
      const hash = auditHash(prevHash, r);
      const info = this.stmt('INSERT INTO audit (at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(r.at, r.actor, r.action, r.target, JSON.stringify(r.details), prevHash, hash);
      return { id: Number(info.lastInsertRowid), ...r, prevHash, hash };
    });
    return tx.immediate();
  }

  async listAudit(filter: { afterId?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const rows = this.stmt('SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit WHERE id > ? ORDER BY id LIMIT ?').all(filter.afterId ?? 0, filter.limit ?? -1) as Array<{
      id: number;
      at: number;
      actor: string;
      action: string;
      target: string;
      details: string;
      prev_hash: string;
      hash: string;
    }>;
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details) as Record<string, unknown>, prevHash: r.prev_hash, hash: r.hash }));
  }

  async close(): Promise<void> {
    this.logFiles?.close();
    this.db.close();
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
  return { name: r.name, repo: r.repo, pipeline: r.pipeline, defaultBranch: r.default_branch, webhookSecret: r.webhook_secret, createdAt: r.created_at };
}

interface TokenRow {
  id: number;
  name: string;
  role: string;
  created_at: number;
  revoked_at: number | null;
}

function toToken(r: TokenRow): TokenRecord {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, revokedAt: r.revoked_at };
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
  return { jobId: r.job_id, runId: r.run_id, stage: r.stage, attempt: r.attempt, agentId: r.agent_id, assignedAt: r.assigned_at, lastEventSeq: r.last_event_seq, finishedAt: r.finished_at };
}
