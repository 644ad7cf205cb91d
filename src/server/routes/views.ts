// JSON views of records, shared by the routes (the CLI's `--json` shapes, so both agree).

import type { ProjectRecord, RunRecord, StageRecord } from '../../store/types.js';

export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

export function runView(run: RunRecord, stages: readonly StageRecord[]): Record<string, unknown> {
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
    stages: stages.map(stageView),
  };
}

export function stageView(s: StageRecord): Record<string, unknown> {
  return {
    path: s.path,
    status: s.status,
    attempt: s.attempt,
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    durationMs: s.startedAt !== null && s.finishedAt !== null ? s.finishedAt - s.startedAt : null,
    message: s.message,
    exitCode: s.exitCode,
  };
}

export function projectView(p: ProjectRecord): Record<string, unknown> {
  return { name: p.name, repo: p.repo, pipeline: p.pipeline, defaultBranch: p.defaultBranch, webhook: p.webhookSecret !== '', createdAt: iso(p.createdAt) };
}
