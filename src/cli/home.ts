// Where local state lives: `$OTTO_HOME`, else `.otto/` in the project directory.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SqliteStore } from '../store/index.js';
import { UsageError } from './io.js';

export function ottoHome(projectDir: string): string {
  return process.env.OTTO_HOME ? resolve(process.env.OTTO_HOME) : join(resolve(projectDir), '.otto');
}

export function openStore(projectDir: string, options: { create: boolean }): SqliteStore {
  const home = ottoHome(projectDir);
  const db = join(home, 'otto.db');
  if (!options.create && !existsSync(db)) {
    throw new UsageError(`no runs here: ${db} does not exist`, 'run a pipeline first with otto run, or set OTTO_HOME to the directory that holds otto.db');
  }
  return new SqliteStore(db);
}
