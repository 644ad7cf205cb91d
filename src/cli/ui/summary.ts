// The end of a run on the terminal, and the JSON form of a run shared by run, runs and rerun.

import pc from 'picocolors';
import type { RunRecord, StageRecord } from '../../store/index.js';
import { formatDuration, statusWord, SYMBOL } from './format.js';

export function runJson(run: RunRecord, stages: readonly StageRecord[]): Record<string, unknown> {
  return {
    id: run.id,
    project: run.project,
    pipeline: run.pipeline,
    status: run.status,
    planHash: run.planHash,
    trigger: run.trigger,
    createdAt: iso(run.createdAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    message: run.message,
    rerunOf: run.rerunOf,
    stages: stages.map((s) => ({
      path: s.path,
      status: s.status,
      attempt: s.attempt,
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      durationMs: s.startedAt !== null && s.finishedAt !== null ? s.finishedAt - s.startedAt : null,
      message: s.message,
      exitCode: s.exitCode,
    })),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function printSummary(run: RunRecord, stages: readonly StageRecord[], options: { color: boolean; out: NodeJS.WriteStream }): void {
  const c = pc.createColors(options.color);
  const counts = new Map<string, number>();
  for (const s of stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([k, n]) => `${n} ${statusWord(k as StageRecord['status'])}`);
  const took = run.startedAt !== null && run.finishedAt !== null ? ` in ${formatDuration(run.finishedAt - run.startedAt)}` : '';
  const word = statusWord(run.status);
  const head = run.status === 'succeeded' ? c.green(c.bold(word)) : run.status === 'cancelled' ? c.yellow(c.bold(word)) : c.red(c.bold(word));
  const lines = [`\nrun ${run.id} ${head}${took}: ${parts.join(', ')}`];
  for (const s of stages) {
    if (s.status === 'failed' || s.status === 'timed_out' || s.status === 'unstable') {
      lines.push(`  ${SYMBOL[s.status]} ${s.path}: ${statusWord(s.status)}${s.message ? ` — ${s.message}` : ''}`);
    }
  }
  if (run.status !== 'succeeded') lines.push(c.dim(`  logs: otto logs ${run.id}${run.status === 'failed' ? `; again from the failure: otto rerun ${run.id} --from-failed` : ''}`));
  options.out.write(lines.join('\n') + '\n');
}
