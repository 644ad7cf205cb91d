// Records a new run: its plan, its trigger, and the first event of its log.

import type { Plan } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import type { RunRecord, TriggerInfo } from '../store/types.js';
import type { ReusedStage } from './events.js';
import { EventLog } from './event-log.js';

export async function createRun(
  store: Store,
  input: { project: string; plan: Plan; trigger: TriggerInfo; owner: string; at: number; reused?: Readonly<Record<string, ReusedStage>>; rerunOf?: string },
): Promise<RunRecord> {
  const run = await store.createRun({
    project: input.project,
    plan: input.plan,
    pipeline: input.plan.pipeline.name,
    trigger: input.trigger,
    status: 'queued',
    owner: input.owner,
    at: input.at,
    rerunOf: input.rerunOf ?? null,
  });
  const log = await EventLog.open(store, run.id);
  await log.append([{ type: 'run.created', at: input.at, plan: input.plan, ...(input.reused ? { reused: input.reused } : {}) }]);
  return (await store.getRun(run.id)) as RunRecord;
}
