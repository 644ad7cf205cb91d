// Numbered SQLite migrations. Append new ones; never edit one that has shipped.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, events, stages, logs, locks',
    sql: `
      CREATE TABLE runs (
        num INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        plan TEXT,
        diagnostics TEXT,
        trigger TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        owner TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        rerun_of TEXT
      );
      CREATE INDEX runs_project ON runs (project, num);
      CREATE INDEX runs_status ON runs (status, num);

      CREATE TABLE events (
        run_num INTEGER NOT NULL REFERENCES runs (num),
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_num, seq)
      ) WITHOUT ROWID;

      CREATE TABLE stages (
        run_num INTEGER NOT NULL REFERENCES runs (num),
        path TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        message TEXT NOT NULL,
        exit_code INTEGER,
        PRIMARY KEY (run_num, path)
      ) WITHOUT ROWID;

      CREATE TABLE log_chunks (
        run_num INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER,
        stream TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (run_num, stage, attempt, seq)
      ) WITHOUT ROWID;

      CREATE TABLE lock_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lock TEXT NOT NULL,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        owner TEXT NOT NULL,
        UNIQUE (lock, run_id, stage)
      );
      CREATE INDEX lock_queue_lock ON lock_queue (lock, id);
    `,
  },
  {
    version: 2,
    name: 'secrets, deployments, gate tokens',
    sql: `
      CREATE TABLE secrets (
        project TEXT NOT NULL,
        environment TEXT NOT NULL,
        name TEXT NOT NULL,
        sealed TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (project, environment, name)
      ) WITHOUT ROWID;

      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        environment TEXT NOT NULL,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        sha TEXT NOT NULL,
        branch TEXT NOT NULL,
        status TEXT NOT NULL,
        at INTEGER NOT NULL,
        started_at INTEGER
      );
      CREATE INDEX deployments_env ON deployments (environment, id);

      CREATE TABLE gate_tokens (
        token_hash TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        phase TEXT NOT NULL,
        idx INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        used_at INTEGER
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'projects, tokens, agents, agent jobs, audit',
    sql: `
      CREATE TABLE projects (
        name TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        default_branch TEXT NOT NULL,
        webhook_secret TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );

      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        labels TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        max_jobs INTEGER NOT NULL,
        version TEXT NOT NULL,
        registered_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE agent_jobs (
        job_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        assigned_at INTEGER NOT NULL,
        last_event_seq INTEGER NOT NULL DEFAULT 0,
        finished_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX agent_jobs_agent ON agent_jobs (agent_id, finished_at);
      CREATE INDEX agent_jobs_run ON agent_jobs (run_id);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'step output in files, indexed',
    // log_chunks keeps the text of runs logged before this version (still read); new chunks go to
    // files next to the database (src/store/sqlite/log-files.ts) and only their place is stored here.
    sql: `
      CREATE TABLE log_files (
        run_num INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        file TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (run_num, stage, attempt)
      ) WITHOUT ROWID;

      CREATE TABLE log_index (
        run_num INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER,
        stream TEXT NOT NULL,
        byte_offset INTEGER NOT NULL,
        byte_length INTEGER NOT NULL,
        PRIMARY KEY (run_num, stage, attempt, seq)
      ) WITHOUT ROWID;
    `,
  },
];
