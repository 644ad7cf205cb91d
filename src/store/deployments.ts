// What is deployed where now, from a deployment history.

import type { DeploymentRecord } from './types.js';

/**
 * The newest deployment per project and environment that did not fail, from a history listed
 * newest first. It must be the whole history: a limited page can miss what is deployed now.
 */
export function deployedNow(history: readonly DeploymentRecord[]): DeploymentRecord[] {
  const current = new Map<string, DeploymentRecord>();
  for (const d of history) {
    const key = `${d.project}\0${d.environment}`;
    if (d.status !== 'failed' && !current.has(key)) current.set(key, d);
  }
  return [...current.values()];
}

/** Enough to hold any real history whole; the list is small next to runs and logs. */
export const WHOLE_HISTORY = 1_000_000;
