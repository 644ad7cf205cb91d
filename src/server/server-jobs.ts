// Builds jobs in server mode: the agent prepares the workspace (a checkout of the run's commit,
// or the workspace a stage it inherits from left on that agent), so the job names the source.

import { AGENT_PROTOCOL_VERSION, type StageJob } from '../protocol/agent.js';
import type { Plan, PlanStage } from '../protocol/plan.js';
import type { CallbackTokens, JobFactory, SecretSource } from '../engine/index.js';
import type { RemoteDispatcher } from './dispatcher.js';

export interface ServerJobsOptions {
  readonly dispatcher: RemoteDispatcher;
  readonly repo: string;
  readonly project: string;
  readonly secrets: SecretSource;
  readonly callbacks: CallbackTokens;
  readonly objectsDir: string | null;
  readonly graceMs: number;
  /** The runs a rerun carries stages over from (their artifacts stay fetchable). */
  readonly earlierRuns?: readonly string[];
  /** The job that ran a stage (in this run, or the run a rerun reuses it from). */
  readonly jobOf: (stage: string) => Promise<string | undefined>;
}

export class ServerJobs implements JobFactory {
  constructor(private readonly options: ServerJobsOptions) {}

  async build(plan: Plan, stage: PlanStage, attempt: number, runId: string): Promise<StageJob> {
    const secrets = await this.options.secrets.values(plan, stage);
    const callbacks = await this.options.callbacks.forStage(runId, stage);
    const jobId = `${runId}/${stage.path}#${attempt}`;
    let workspaceFrom: { stage: string; jobId: string } | null = null;
    if (stage.workspaceFrom) {
      const from = stage.workspaceFrom;
      const jobId = await this.options.jobOf(from);
      if (!jobId) throw new Error(`stage '${stage.path}' starts from the workspace of '${from}', which never ran in this run`);
      workspaceFrom = { stage: from, jobId };
    }
    this.options.dispatcher.setRouting(jobId, { source: { repo: this.options.repo, sha: plan.context.sha }, workspaceFrom, runtime: stage.runtime });
    return {
      protocol: AGENT_PROTOCOL_VERSION,
      jobId,
      runId,
      stagePath: stage.path,
      attempt,
      ops: stage.manifest.ops,
      // The agent chooses where its workspaces live.
      workspace: '',
      secrets,
      maskValues: callbacks.masks,
      // Only what the server adds: the agent supplies PATH, HOME and the rest of its own environment.
      baseEnv: { OTTO_RUN_ID: runId, OTTO_ATTEMPT: String(attempt), CI: 'true', ...callbacks.env },
      timeoutMs: stage.timeoutMs,
      graceMs: this.options.graceMs,
      objects: this.options.objectsDir ? { kind: 'local', dir: this.options.objectsDir } : null,
      project: this.options.project,
      runtime: stage.runtime,
      artifactRuns: [runId, ...(this.options.earlierRuns ?? [])],
    };
  }
}
