// Builds the job for a stage attempt in local mode: its workspace, environment, secrets and limits.

import { AGENT_PROTOCOL_VERSION, type StageJob } from '../protocol/agent.js';
import type { Plan, PlanStage } from '../protocol/plan.js';
import type { JobFactory } from './orchestrator.js';
import type { Workspaces } from './workspaces.js';
import type { CallbackTokens } from './gate-host/callbacks.js';
import { pickEnv } from '../util/step-env.js';

/** Secret values for a stage, by name; a missing name is simply absent (the agent then fails it). */
export interface SecretSource {
  values(plan: Plan, stage: PlanStage): Promise<Readonly<Record<string, string>>>;
}

export const NO_SECRETS: SecretSource = { values: async () => ({}) };

export interface LocalJobsOptions {
  readonly workspaces: Workspaces;
  readonly secrets?: SecretSource;
  /** The object store directory for artifacts and caches. */
  readonly objectsDir: string | null;
  readonly project: string;
  readonly graceMs?: number;
  readonly libraryRoot?: string;
  /** Values to mask besides secrets (tokens minted for this run). */
  readonly maskValues?: readonly string[];
  /** Hands exit-gate callback URLs to stages ($OTTO_CALLBACK_URL). */
  readonly callbacks?: CallbackTokens;
  /** The runs a rerun carries stages over from, newest first (their artifacts stay fetchable). */
  readonly earlierRuns?: readonly string[];
  /** Variables of this process's environment that steps start with too (OTTO_STEP_ENV). */
  readonly stepEnv?: readonly string[];
  /**
   * Where the agent may write a stage attempt's output itself (Store.logFileFor): the local agent
   * shares this machine's filesystem with the store.
   */
  readonly logFiles?: (runId: string, stage: string, attempt: number) => Promise<{ path: string; offset: number } | undefined>;
}

/**
 * The environment every step starts from: enough to find programs, nothing of the caller's secrets
 * (OTTO_STEP_ENV names more, by choice).
 */
export function baseEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];
  const out: Record<string, string> = {};
  for (const k of keep) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  out.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  out.CI = 'true';
  return out;
}

export class LocalJobs implements JobFactory {
  constructor(private readonly options: LocalJobsOptions) {}

  async build(plan: Plan, stage: PlanStage, attempt: number, runId: string): Promise<StageJob> {
    // Secrets first: a missing one fails the stage before any copying happens.
    const secrets = (await this.options.secrets?.values(plan, stage)) ?? {};
    const workspace = this.options.workspaces.prepare(stage.path, stage.workspaceFrom);
    const env = { ...pickEnv(process.env, this.options.stepEnv ?? []), ...baseEnvironment() };
    env.OTTO_RUN_ID = runId;
    env.OTTO_ATTEMPT = String(attempt);
    const callbacks = this.options.callbacks ? await this.options.callbacks.forStage(runId, stage) : { env: {}, masks: [] };
    const logFile = await this.options.logFiles?.(runId, stage.path, attempt);
    Object.assign(env, callbacks.env);
    return {
      protocol: AGENT_PROTOCOL_VERSION,
      jobId: `${runId}/${stage.path}#${attempt}`,
      runId,
      stagePath: stage.path,
      attempt,
      ops: stage.manifest.ops,
      workspace,
      secrets,
      maskValues: [...(this.options.maskValues ?? []), ...callbacks.masks],
      baseEnv: env,
      timeoutMs: stage.timeoutMs,
      graceMs: this.options.graceMs ?? 5000,
      objects: this.options.objectsDir ? { kind: 'local', dir: this.options.objectsDir } : null,
      project: this.options.project,
      runtime: stage.runtime,
      artifactRuns: [runId, ...(this.options.earlierRuns ?? [])],
      ...(this.options.libraryRoot ? { libraryRoot: this.options.libraryRoot } : {}),
      ...(logFile ? { logFile } : {}),
    };
  }
}
