// The plan (`otto.plan/v1`): the complete, hashed description of a run, and the stage manifests
// agents execute. This is the contract between the planner, the orchestrator and agents.

export const PLAN_API_VERSION = 'otto.plan/v1';

export type TriggerEvent = 'push' | 'pull_request' | 'tag' | 'cron' | 'manual' | 'api';

export interface PlanContext {
  readonly event: TriggerEvent;
  readonly branch: string;
  readonly tag: string;
  readonly sha: string;
  /** The revision changed files were computed against, or '' when none. */
  readonly base: string;
  readonly vars: Readonly<Record<string, string>>;
  readonly changedFiles: readonly string[];
}

export interface PlanSource {
  /** Relative to the pipeline file's directory, with '/' separators. */
  readonly path: string;
  readonly sha256: string;
}

export interface PlanLibrary {
  readonly source: string;
  readonly sha256: string;
}

export type PlanRuntime =
  | { readonly kind: 'local' }
  | { readonly kind: 'sandbox'; readonly network: boolean }
  | { readonly kind: 'docker'; readonly image: string; readonly args: readonly string[] }
  | { readonly kind: 'computer'; readonly label: string }
  | { readonly kind: 'kubernetes'; readonly image: string; readonly namespace: string }
  | { readonly kind: 'microvm'; readonly image: string };

export type PlanGate =
  | { readonly kind: 'input'; readonly message: string; readonly approvers: readonly string[]; readonly timeoutMs: number }
  | { readonly kind: 'webhook'; readonly description: string; readonly timeoutMs: number }
  | {
      readonly kind: 'poll';
      readonly url: string;
      readonly expect: number;
      readonly contains: string;
      readonly intervalMs: number;
      readonly timeoutMs: number;
    };

export interface PlanCacheSave {
  readonly name: string;
  readonly paths: readonly string[];
  /** Files whose content hash becomes part of the key. */
  readonly keyFiles: readonly string[];
  readonly when: 'success' | 'always';
}

export interface PlanNotification {
  readonly on: 'success' | 'failure' | 'complete';
  readonly kind: 'slack' | 'http' | 'echo';
  readonly message: string;
  /** For http: the URL; for slack: a channel override or ''. */
  readonly target: string;
  readonly method: string;
  readonly body: string;
}

/** One op of a stage manifest, in the order the agent runs them. */
export type Op =
  | { readonly op: 'BEGINCTX'; readonly stage: string; readonly workspaceFrom: string | null }
  | { readonly op: 'SETVARS'; readonly vars: readonly PlanVar[] }
  | { readonly op: 'CACHE_RESTORE'; readonly name: string; readonly keyFiles: readonly string[] }
  | { readonly op: 'FETCH'; readonly step: number; readonly artifact: string; readonly into: string }
  | {
      readonly op: 'RUNPROC';
      /** The step's index among the stage's steps, from 0. */
      readonly step: number;
      readonly label: string;
      /** A script for /bin/sh -e, or empty when `command` is given. */
      readonly script: string;
      /** argv for a library step's entrypoint, relative to `libraryDir`. */
      readonly command: readonly string[];
      readonly libraryDir: string;
      /** JSON passed to a library step in its invocation file. */
      readonly invocation: unknown;
      /** Relative to the workspace. */
      readonly cwd: string;
      readonly timeoutS: number;
      readonly returnStatus: boolean;
    }
  | { readonly op: 'STORE'; readonly step: number; readonly artifact: string; readonly patterns: readonly string[]; readonly cwd: string }
  | ({ readonly op: 'CACHE_SAVE' } & PlanCacheSave)
  | { readonly op: 'EMIT'; readonly step: number; readonly kind: 'log' | 'fail'; readonly message: string }
  | { readonly op: 'ENDCTX' };

export interface PlanVar {
  readonly name: string;
  /** The value; absent for secrets, which the orchestrator supplies when it dispatches. */
  readonly value?: string;
  readonly secret: boolean;
}

export interface PlanStage {
  readonly path: string;
  readonly name: string;
  readonly parent: string | null;
  /** Paths of the stages that must finish before this one starts. */
  readonly needs: readonly string[];
  readonly runtime: PlanRuntime;
  /** The stage whose workspace state this stage starts from (`runtime { from }`), or null. */
  readonly workspaceFrom: string | null;
  readonly environment: string | null;
  /** Names of the environment variables the stage receives (values in the manifest, secrets never). */
  readonly env: readonly string[];
  readonly credentials: readonly string[];
  readonly caches: { readonly restore: readonly string[]; readonly save: readonly PlanCacheSave[] };
  readonly gates: { readonly enter: readonly PlanGate[]; readonly exit: readonly PlanGate[] };
  readonly timeoutMs: number;
  readonly retry: number;
  readonly allowFailure: boolean;
  readonly concurrency: string | null;
  /** For a parallel group's branches: cancel siblings when one fails. */
  readonly failFastGroup: string | null;
  /** Null when the stage runs; otherwise why it is skipped, in words. */
  readonly skip: string | null;
  readonly notify: readonly PlanNotification[];
  readonly manifest: { readonly ops: readonly Op[] };
}

/** What starts runs in server mode (`triggers { }`); `declared` is false when the block is absent. */
export interface PlanTriggers {
  readonly declared: boolean;
  readonly push: { readonly branches: readonly string[]; readonly paths: readonly string[] } | null;
  readonly pullRequest: { readonly branches: readonly string[] } | null;
  readonly tag: { readonly pattern: string } | null;
  readonly cron: readonly string[];
  /** Whether a person (`manual`) or an API call (`api`) may start a run: without `triggers`, both. */
  readonly manual: boolean;
  readonly api: boolean;
}

export interface PlanEnvironment {
  readonly name: string;
  readonly url: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly credentials: readonly string[];
}

export interface Plan {
  readonly apiVersion: typeof PLAN_API_VERSION;
  /** sha256 over the canonical JSON of everything below. */
  readonly planHash: string;
  readonly pipeline: { readonly name: string; readonly timeoutMs: number; readonly concurrency: string | null; readonly triggers: PlanTriggers };
  readonly context: PlanContext;
  readonly sources: readonly PlanSource[];
  readonly libraries: readonly PlanLibrary[];
  readonly environments: readonly PlanEnvironment[];
  readonly configure: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Stages in a topological order (the order they are shown). */
  readonly stages: readonly PlanStage[];
  /** What the plan could not promise: runtimes no local agent offers, and such. */
  readonly notes: readonly string[];
}

/** Compact JSON of plans made by compilePlan, which writes it anyway to hash the plan. */
const compactJson = new WeakMap<Plan, string>();

/** Remembers `json` as the compact JSON of `plan` (compilePlan, which had to write it to hash it). */
export function rememberPlanJson(plan: Plan, json: string): void {
  compactJson.set(plan, json);
}

/**
 * JSON.stringify(plan), without writing a large plan out twice: compilePlan's copy when there is
 * one (plans are never changed after they are made), else a new one.
 */
export function planJson(plan: Plan): string {
  return compactJson.get(plan) ?? JSON.stringify(plan);
}
