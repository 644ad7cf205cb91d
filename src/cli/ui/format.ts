// Small pieces of terminal output: durations, status symbols and words.

import type { StageStatus, RunStatus } from '../../store/index.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A symbol per state; the word is always printed too, so state is never shown by colour alone. */
export const SYMBOL: Record<StageStatus, string> = {
  pending: '·',
  skipped: '○',
  waiting: '⏸',
  queued: '…',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  unstable: '!',
  cancelled: '⊘',
  timed_out: '⌛',
};

export function statusWord(s: StageStatus | RunStatus): string {
  return s === 'timed_out' ? 'timed out' : s;
}
