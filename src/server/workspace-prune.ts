// Which of the runs an agent keeps workspaces of it may remove: the finished runs of this server
// that are not among the newest `keep` finished runs of their project (so that `rerun --from-failed`
// of a recent run finds the workspaces it carries over). A run this server does not know, or one
// that may still go on, is left alone. Agents ask with their heartbeat.

import { FINISHED } from '../engine/workspace-retention.js';
import type { Store } from '../store/store.js';

/** How many of a project's newest runs are looked at to find its newest finished ones. */
const RECENT_WINDOW = 500;

export async function prunableRuns(store: Store, runIds: readonly string[], keep: number): Promise<string[]> {
  const newestFinished = new Map<string, Promise<Set<string>>>();
  const prunable: string[] = [];
  for (const id of runIds) {
    const run = /^[1-9][0-9]{0,17}$/.test(id) ? await store.getRun(id) : undefined;
    if (run === undefined || !FINISHED.has(run.status)) continue;
    let kept = newestFinished.get(run.project);
    if (kept === undefined) {
      kept = store.listRuns({ project: run.project, limit: RECENT_WINDOW }).then((runs) => new Set(runs.filter((r) => FINISHED.has(r.status)).slice(0, keep).map((r) => r.id)));
      newestFinished.set(run.project, kept);
    }
    if (!(await kept).has(run.id)) prunable.push(run.id);
  }
  return prunable;
}
