// What every object op works against: the workspace's real path, the directories never collected
// from it, and the lines it adds to the stage log.

import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectOpContext } from '../object-ops.js';
import { realWorkspace } from './paths.js';

export interface OpScope {
  /** The workspace's real path. */
  readonly root: string;
  /** Real paths never collected: the object store and Otto's home when they lie in the workspace. */
  readonly exclude: ReadonlySet<string>;
  readonly log: string[];
  readonly signal: AbortSignal;
  readonly runId: string;
  /** Runs whose artifacts a fetch may read, this run first (a rerun reads the runs it reuses). */
  readonly artifactRuns: readonly string[];
  readonly project: string;
}

export function opScope(ctx: ObjectOpContext, objectsDir: string | null): OpScope {
  const root = realWorkspace(ctx.workspace);
  const exclude = new Set<string>();
  for (const dir of [objectsDir, join(root, '.otto')]) {
    if (dir === null) continue;
    try {
      exclude.add(realpathSync(dir));
    } catch {
      // not there: nothing to skip
    }
  }
  return {
    root,
    exclude,
    log: [],
    signal: ctx.signal,
    runId: ctx.job.runId,
    artifactRuns: ctx.job.artifactRuns?.length ? ctx.job.artifactRuns : [ctx.job.runId],
    project: ctx.job.project,
  };
}
