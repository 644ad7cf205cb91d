// Directory names on the agent for things the server names: stage paths, run ids, repositories.

import { createHash } from 'node:crypto';

/**
 * A directory name for any string: readable, unique, safe. The same function as the engine's
 * stageSlug (src/engine/workspaces.ts), which the agent cannot import, so that a stage's directory
 * has the same name in local and in server mode.
 */
export function pathSlug(path: string): string {
  const readable = path.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) >>> 0;
  return `${readable}-${h.toString(16)}`;
}

/** A run id as a directory name: itself when it is a plain name, else its slug. */
export function runDirName(runId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(runId) ? runId : pathSlug(runId);
}

/** A fixed-length file name for a job id (which holds '/' and '#'). */
export function jobFileName(jobId: string): string {
  return createHash('sha256').update(jobId).digest('hex').slice(0, 32);
}
