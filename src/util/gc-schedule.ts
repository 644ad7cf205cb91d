// Garbage collection about once a day, in a process of its own so that nobody waits for it: `otto run`
// (after a run) and `otto serve` (hourly check) start `otto gc` when their stamp is a day old. A new
// stamp is only written, not acted on: a fresh store has nothing to collect.

import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installRoot } from './install.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether a collection is due by the stamp file; marks it started when it is. */
export function gcDue(stamp: string, now = Date.now()): boolean {
  const st = statSync(stamp, { throwIfNoEntry: false });
  if (st !== undefined && now - st.mtimeMs < DAY_MS) return false;
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${new Date(now).toISOString()}\n`);
  return st !== undefined;
}

/** Starts `otto gc ARGS` detached, in the background, with this process's environment. */
export function startGc(args: readonly string[], cwd: string): void {
  try {
    // bin/otto, a shell script, starts Node the way a user's command does (src/util/http-fetch.ts).
    const child = spawn(join(installRoot, 'bin', 'otto'), ['gc', '--quiet', ...args], { cwd, detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // It will be tried again tomorrow.
  }
}
