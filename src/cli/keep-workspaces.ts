// OTTO_KEEP_WORKSPACES: how many finished runs keep their workspaces, for `otto run` (its .otto/runs/)
// and `otto serve` (what it tells agents they may remove). See src/engine/workspace-retention.ts.

import { DEFAULT_KEEP_WORKSPACES } from '../engine/workspace-retention.js';
import { UsageError } from './io.js';

export function parseKeepWorkspaces(raw: string | undefined = process.env.OTTO_KEEP_WORKSPACES): number {
  if (raw === undefined || raw === '') return DEFAULT_KEEP_WORKSPACES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`OTTO_KEEP_WORKSPACES is '${raw}': it must be a whole number of runs, such as 5 (0 keeps none)`, `unset it to keep the workspaces of the last ${DEFAULT_KEEP_WORKSPACES} finished runs`);
  }
  return n;
}
