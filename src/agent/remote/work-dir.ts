// The agent's working directory: one agent process at a time (two would fetch into the same
// mirrors and overwrite each other's workspaces), and leftovers of a previous process cleared.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WorkDir {
  readonly root: string;
  /** Spill files of undelivered events. */
  readonly spool: string;
  release(): void;
}

export function openWorkDir(root: string): WorkDir {
  mkdirSync(root, { recursive: true });
  const lock = join(root, 'agent.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new Error(
          `another agent (pid ${pid}) uses ${root}; give each agent its own --work-dir`,
          { cause: e },
        );
      rmSync(lock, { force: true }); // left by an agent that is gone
    }
  }
  const spool = join(root, 'spool');
  // Events buffered by an earlier process belong to jobs that died with it: the server has failed
  // (or retried) them after their heartbeats stopped.
  rmSync(spool, { recursive: true, force: true });
  rmSync(join(root, 'tmp'), { recursive: true, force: true });
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  return {
    root,
    spool,
    release: () => {
      try {
        if (Number(readFileSync(lock, 'utf8').trim()) === process.pid)
          rmSync(lock, { force: true });
      } catch {
        // already gone
      }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
