// A private, throwaway PostgreSQL cluster for tests when CI has not provided one
// (OTTO_TEST_PG_URL): initdb + pg_ctl in a temp directory on a free port, stopped afterwards.
// Run as the `postgres` user when we are root (initdb refuses root), as ourselves otherwise.

import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const PG_BIN = process.env.OTTO_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  /** postgres://…/postgres, superuser, trust authentication. */
  readonly url: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
function runPg(asPostgres: boolean, bin: string, args: readonly string[]): void {
  const argv = asPostgres
    ? ['runuser', '-u', 'postgres', '--', join(PG_BIN, bin), ...args]
    : [join(PG_BIN, bin), ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(
      `${bin} failed (${r.status ?? r.signal}): ${r.error?.message ?? ''}${r.stderr}${r.stdout}`,
    );
}

/**
 * Starts a cluster, or says why it cannot (the test then skips with that reason). The cluster is
 * tuned for tests only: no fsync, no full-page writes, no synchronous commit.
 */
export async function startPgCluster(): Promise<PgCluster | { skip: string }> {
  if (!existsSync(join(PG_BIN, 'initdb')))
    return {
      skip: `no PostgreSQL: OTTO_TEST_PG_URL is not set and ${join(PG_BIN, 'initdb')} does not exist (apt-get install postgresql, or set OTTO_TEST_PG_URL)`,
    };
  const root = process.getuid?.() === 0;
  if (root && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
    return {
      skip: 'no PostgreSQL: running as root and runuser is missing, so initdb cannot run as postgres',
    };
  const dir = mkdtempSync(join(tmpdir(), 'otto-test-pg-'));
  const data = join(dir, 'data');
  let started = false;
  const stop = (): void => {
    if (started) {
      try {
        runPg(root, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Already gone; the directory is removed anyway.
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (root) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      if (!Number.isInteger(uid) || !Number.isInteger(gid))
        throw new Error('there is no postgres user');
      chownSync(dir, uid, gid);
    }
    const user = root ? 'postgres' : userInfo().username;
    runPg(root, 'initdb', ['-D', data, '-A', 'trust', '-U', user, '--no-sync', '-E', 'UTF8']);
    const port = await freePort();
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    runPg(root, 'pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    started = true;
    // If the test process dies without its after() hook, do not leave a postmaster behind.
    process.once('exit', stop);
    return { url: `postgres://${user}@127.0.0.1:${port}/postgres`, stop };
  } catch (e) {
    stop();
    return { skip: `could not start a private PostgreSQL cluster: ${(e as Error).message}` };
  }
}
