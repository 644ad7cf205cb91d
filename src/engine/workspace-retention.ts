// Local runs copy the project into `<home>/runs/<run>/` (a snapshot and a workspace per stage, and
// `runtime { from }` copies whole workspaces, dependencies included), so without a limit every run
// leaves its copies on disk for good. Only the newest finished runs keep theirs: enough for
// `otto rerun --from-failed` and for looking at what a recent run left behind.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import type { RunStatus } from '../store/types.js';

/** Finished runs whose workspaces are kept, newest first, unless OTTO_KEEP_WORKSPACES says otherwise. */
export const DEFAULT_KEEP_WORKSPACES = 3;

/** Runs in these states are over: nothing will run in their workspaces again except a rerun. */
export const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'invalid']);

/**
 * Removes the files (`runs/<id>/`: snapshot and workspaces) of finished runs beyond the newest `keep`
 * runs that have any. Runs that may still go on (running, waiting, interrupted) keep theirs whatever
 * their age; a directory the store knows nothing of is left alone. Returns the ids of the runs whose
 * files were removed.
 */
export async function pruneWorkspaces(store: Store, home: string, keep: number): Promise<string[]> {
  const root = join(home, 'runs');
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const pruned: string[] = [];
  let finished = 0;
  for (const id of names.filter((n) => /^[1-9][0-9]*$/.test(n)).sort((a, b) => Number(b) - Number(a))) {
    const run = await store.getRun(id);
    if (run === undefined || !FINISHED.has(run.status)) continue;
    finished++;
    if (finished <= keep) continue;
    await rm(join(root, id), { recursive: true, force: true });
    pruned.push(id);
  }
  return pruned;
}
