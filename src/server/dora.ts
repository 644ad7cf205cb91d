// DORA figures from deployment records: deploy frequency, lead time for changes, change failure
// rate and time to restore, over a window of days.

import type { DeploymentRecord } from '../store/types.js';

export interface Dora {
  readonly windowDays: number;
  readonly deployments: number;
  /** Successful deployments per day. */
  readonly deployFrequencyPerDay: number;
  /** Median time from commit to deployment, in ms (null when unknown). */
  readonly leadTimeMs: number | null;
  /** Failed deployments / all deployments (null with none). */
  readonly changeFailureRate: number | null;
  /** Median time from a failed deployment to the next successful one, in ms (null when none). */
  readonly timeToRestoreMs: number | null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : Math.round(((s[m - 1] as number) + (s[m] as number)) / 2);
}

export function dora(all: readonly DeploymentRecord[], commitAt: ReadonlyMap<string, number | null>, now: number, days: number): Dora {
  const since = now - days * 86_400_000;
  const list = all.filter((d) => d.at >= since).sort((a, b) => a.at - b.at);
  const ok = list.filter((d) => d.status !== 'failed');
  const failed = list.filter((d) => d.status === 'failed');
  const lead = ok.map((d) => (commitAt.get(d.runId) ?? null) === null ? null : d.at - (commitAt.get(d.runId) as number)).filter((x): x is number => x !== null && x >= 0);
  const restore: number[] = [];
  for (const f of failed) {
    const next = list.find((d) => d.at > f.at && d.status !== 'failed' && d.project === f.project);
    if (next) restore.push(next.at - f.at);
  }
  return {
    windowDays: days,
    deployments: list.length,
    deployFrequencyPerDay: Math.round((ok.length / days) * 1000) / 1000,
    leadTimeMs: median(lead),
    changeFailureRate: list.length ? Math.round((failed.length / list.length) * 1000) / 1000 : null,
    timeToRestoreMs: median(restore),
  };
}
