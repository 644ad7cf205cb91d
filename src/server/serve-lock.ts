// One `otto serve` per data directory and per database: each server recovers every unfinished run
// when it starts and keeps its agents' queue in memory, so a second one on the same state would run
// stages twice. The data directory holds `serve.pid` (`pid@host`); PostgreSQL, which servers on
// other machines may share, an advisory lock (Store.holdServerLock). Both go with the process.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localOwner, ownerAlive } from '../engine/locks.js';
import type { Store } from '../store/index.js';

/** Another server holds the data directory or the database. */
export class ServeLockError extends Error {
  override readonly name = 'ServeLockError';
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

/** Takes the data directory and the store's server lock; returns what releases them. */
export async function lockServerState(dataDir: string, store: Store, owner: string): Promise<() => Promise<void>> {
  const releaseDir = lockDataDir(dataDir);
  try {
    const db = await store.holdServerLock?.(owner);
    if (db !== undefined && !db.held) {
      throw new ServeLockError(
        `another otto serve is using this database: ${db.holder}`,
        'one server drives a database: stop the other first (several servers sharing PostgreSQL are not supported yet)',
      );
    }
    return async () => {
      if (db?.held) await db.release().catch(() => undefined);
      releaseDir();
    };
  } catch (e) {
    releaseDir();
    throw e;
  }
}

function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'serve.pid');
  const me = localOwner();
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${me}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = readFileSync(file, 'utf8').trim();
      if (holder !== me && ownerAlive(holder)) {
        throw new ServeLockError(
          `another otto serve (${holder}) is using the data directory ${dataDir}`,
          `stop it first, or give this server its own --data; if that process is gone (another machine's), remove ${file}`,
        );
      }
      rmSync(file, { force: true }); // left by a server that is gone
    }
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === me) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
