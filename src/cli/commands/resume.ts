// `otto resume RUN` and `otto rerun RUN [--from-failed]`: continue or repeat a recorded run.

import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRun, EventLog, localOwner, ownerAlive, stageSlug, type ReusedStage } from '../../engine/index.js';
import { EXIT, UsageError, writeErr } from '../io.js';
import { openStore, ottoHome } from '../home.js';
import { actorName, checkApprovals, drive, parseJobs, type RunExtensions } from './run.js';
import { parseKeepWorkspaces } from '../keep-workspaces.js';
import { stepEnvNames } from '../step-env.js';
import { findRun } from './runs.js';
import { statusWord } from '../ui/format.js';
import { sha256 } from '../../plan/index.js';
import { existsSync, readFileSync } from 'node:fs';

interface ContinueOptions {
  readonly jobs?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly inPlace?: boolean;
}

export async function runResume(id: string, options: ContinueOptions, ext: RunExtensions = {}): Promise<number> {
  const keepWorkspaces = parseKeepWorkspaces();
  const stepEnv = stepEnvNames();
  const projectDir = process.cwd();
  const store = openStore(projectDir, { create: false });
  try {
    const run = await findRun(store, id, false);
    if (['succeeded', 'failed', 'cancelled', 'invalid'].includes(run.status)) {
      throw new UsageError(`run ${run.id} has already ended (${statusWord(run.status)}); nothing to resume`, `run it again with otto rerun ${run.id}`);
    }
    if (run.owner && ownerAlive(run.owner) && run.owner !== localOwner()) {
      throw new UsageError(`run ${run.id} is still running in process ${run.owner}`, `watch it with otto logs ${run.id} --follow, or stop it with otto cancel ${run.id}`);
    }
    const plan = await store.getPlan(run.id);
    if (!plan) throw new UsageError(`run ${run.id} has no plan to resume`);
    checkApprovals(plan, ext.approve ?? []);
    writeErr(`resuming run ${run.id}`);
    return await drive(store, run, plan, projectDir, { mode: 'resume', maxJobs: parseJobs(options.jobs, availableParallelism()), keepWorkspaces, stepEnv, inPlace: options.inPlace === true, json: options.json === true, quiet: options.quiet === true }, ext);
  } finally {
    await store.close();
  }
}

export async function runRerun(id: string, options: ContinueOptions & { fromFailed?: boolean }, ext: RunExtensions = {}): Promise<number> {
  const keepWorkspaces = parseKeepWorkspaces();
  const stepEnv = stepEnvNames();
  const projectDir = process.cwd();
  const store = openStore(projectDir, { create: false });
  try {
    const old = await findRun(store, id, false);
    const plan = await store.getPlan(old.id);
    if (!plan) throw new UsageError(`run ${old.id} has no plan (it was invalid)`, 'fix the pipeline and start a new run with otto run');
    checkApprovals(plan, ext.approve ?? []);
    const reused: Record<string, ReusedStage> = {};
    const reusedWorkspaces = new Map<string, string>();
    if (options.fromFailed) {
      if (old.status === 'succeeded') throw new UsageError(`run ${old.id} succeeded: no stage failed`, `run it all again with otto rerun ${old.id}`);
      const log = await EventLog.open(store, old.id);
      for (const path of log.machine.order) {
        const s = log.machine.stages.get(path)!;
        if (s.status === 'succeeded' || s.status === 'unstable' || (s.status === 'skipped' && s.plan.skip !== null)) {
          reused[path] = { fromRun: s.reusedFrom ?? old.id, status: s.status, attempt: s.attempt };
          reusedWorkspaces.set(path, join(ottoHome(projectDir), 'runs', s.reusedFrom ?? old.id, 'ws', stageSlug(path)));
        }
      }
    }
    const changed = plan.sources.filter((src) => {
      const p = join(projectDir, src.path);
      return !src.path.startsWith('library:') && existsSync(p) && sha256(readFileSync(p, 'utf8').replace(/^\uFEFF/, '')) !== src.sha256;
    });
    if (changed.length) writeErr(`note: ${changed.map((c) => c.path).join(', ')} changed since run ${old.id}; the rerun uses that run's plan (start a new run with otto run to use the files as they are)`);
    const run = await createRun(store, { project: old.project, plan, trigger: { ...old.trigger, actor: actorName() }, owner: localOwner(), at: Date.now(), reused, rerunOf: old.id });
    writeErr(`run ${run.id} reruns run ${old.id}${options.fromFailed ? `, reusing ${Object.keys(reused).length} stage${Object.keys(reused).length === 1 ? '' : 's'} that did not fail` : ''}`);
    void dirname;
    return await drive(store, run, plan, projectDir, { mode: 'start', maxJobs: parseJobs(options.jobs, availableParallelism()), keepWorkspaces, stepEnv, inPlace: options.inPlace === true, json: options.json === true, quiet: options.quiet === true, reusedWorkspaces }, ext);
  } finally {
    await store.close();
  }
}

export { EXIT };
