// compilePlan(): a checked program and a trigger context to the plan — a pure function of its inputs.

import { dirname, relative, resolve, sep } from 'node:path';
import {
  check,
  parseDuration,
  pathText,
  toText,
  UNKNOWN,
  type Diagnostic,
  type ExpandContext,
  type ExpandedStage,
  type Expansion,
  type Notify,
  type Program,
  type Setting,
  type When,
  type Condition,
  type UseEntry,
  type Block,
  type Maybe,
  literal,
} from '../lang/index.js';
import { hasErrors } from '../lang/index.js';
import {
  PLAN_API_VERSION,
  rememberPlanJson,
  type Plan,
  type PlanCacheSave,
  type PlanContext,
  type PlanEnvironment,
  type PlanLibrary,
  type PlanNotification,
  type PlanStage,
  type PlanVar,
  type PlanTriggers,
} from '../protocol/plan.js';
import { evaluateCondition, truthy } from './conditions.js';
import { buildGraph } from './graph.js';
import { sha256 } from './hash.js';
import { buildManifest } from './manifest.js';
import { siteOf, StageFacts } from './stage-facts.js';

export interface PlanInput {
  readonly context: PlanContext;
  /** The project's name: by default the name of the directory holding the pipeline file. */
  readonly project: string;
  /** Pins of the remote libraries the program uses (from otto.lock). */
  readonly libraryPins: readonly PlanLibrary[];
  /** Digests of local step libraries, by directory (absolute). */
  readonly localLibraryDigest?: (dir: string) => string;
  /** Where remote libraries live, so their files are named without absolute paths. */
  readonly libraryCacheRoot?: string;
}

export interface CompileResult {
  readonly plan: Plan | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly expansion: Expansion | undefined;
}

const DEFAULT_PIPELINE_TIMEOUT = 86_400_000;

export function expandContextOf(context: PlanContext, project: string): ExpandContext {
  return {
    branch: context.branch,
    tag: context.tag,
    event: context.event,
    sha: context.sha,
    project,
    vars: context.vars,
    changedFiles: context.changedFiles,
  };
}

export function compilePlan(program: Program, input: PlanInput): CompileResult {
  const checked = check(program, expandContextOf(input.context, input.project));
  if (hasErrors(checked.diagnostics) || !checked.expansion) {
    return { plan: undefined, diagnostics: checked.diagnostics, expansion: checked.expansion };
  }
  const expansion = checked.expansion;
  const facts = new StageFacts(expansion);
  const graph = buildGraph(expansion.root);
  const mainDir = dirname(resolve(program.main.source.path));
  const nameOfPath = (p: string): string => {
    const abs = resolve(p);
    if (input.libraryCacheRoot && abs.startsWith(input.libraryCacheRoot + sep)) {
      return `library:${relative(input.libraryCacheRoot, abs).split(sep).join('/')}`;
    }
    return relative(mainDir, abs).split(sep).join('/');
  };
  const libraryRef = (dir: string): string => {
    const n = nameOfPath(dir);
    return n.startsWith('library:') ? n : `project:${n}`;
  };

  const declared = new Map<string, PlanCacheSave>();
  for (const s of expansion.stages) for (const c of facts.cacheSaves(s)) if (!declared.has(c.name)) declared.set(c.name, c);

  const skipped = new Map<ExpandedStage, string>();
  const stages: PlanStage[] = [];
  for (const stage of expansion.stages) {
    const path = pathText(stage) as string;
    const envName = facts.environment(stage);
    const env = envName ? expansion.environments.get(envName) : undefined;
    const settings = env ? environmentSettings(expansion, env) : {};
    const credentials = unique([...facts.strings(facts.setting(stage, 'credentials')), ...(env ? environmentCredentials(expansion, env) : [])]);
    const builtins: Array<[string, string]> = [
      ['OTTO', '1'],
      ['OTTO_STAGE', path],
      ['OTTO_BRANCH', input.context.branch],
      ['OTTO_TAG', input.context.tag],
      ['OTTO_SHA', input.context.sha],
      ['OTTO_EVENT', input.context.event],
      ['OTTO_PROJECT', input.project],
    ];
    if (envName) builtins.push(['OTTO_ENVIRONMENT', envName]);
    const vars: PlanVar[] = [
      ...builtins.map(([name, value]) => ({ name, value, secret: false })),
      ...Object.entries(settings).map(([name, value]) => ({ name, value, secret: false })),
      ...credentials.map((name) => ({ name, secret: true })),
    ];
    const { runtime, workspaceFrom } = facts.runtime(stage);
    const gates = facts.gates(stage);
    const restores = facts.cacheRestores(stage);
    const saves = facts.cacheSaves(stage);
    const timeoutMs = facts.timeoutMs(stage);
    const retry = facts.setting(stage, 'retry');
    const concurrency = facts.setting(stage, 'concurrency');
    const skip = skipReason(stage, facts, gates.conditions, skipped);
    if (skip !== null) skipped.set(stage, skip);
    stages.push({
      path,
      name: stage.name ?? path,
      parent: stage.parent ? (pathText(stage.parent) ?? null) : null,
      needs: graph.needs.get(stage) ?? [],
      runtime,
      workspaceFrom,
      environment: envName,
      env: vars.filter((v) => !v.secret).map((v) => v.name),
      credentials,
      caches: { restore: restores, save: saves },
      gates: { enter: gates.enter, exit: gates.exit },
      timeoutMs,
      retry: typeof retry === 'number' ? retry : 0,
      allowFailure: facts.setting(stage, 'allowFailure') === true,
      concurrency: typeof concurrency === 'string' && concurrency !== '' ? concurrency : null,
      failFastGroup: graph.failFastGroup.get(stage) ?? null,
      skip,
      notify: notifications(stage, facts),
      manifest: { ops: buildManifest(facts, program, { stage, path, workspaceFrom, vars, restores, declared, saves, timeoutMs, libraryRef }) },
    });
  }

  const top = program.main.items.find((i) => i.kind === 'pipeline' || i.kind === 'blueprint');
  const topSetting = (name: string): string | undefined => {
    if (!top || (top.kind !== 'pipeline' && top.kind !== 'blueprint')) return undefined;
    const s = top.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
    if (!s) return undefined;
    const v = expansion.evaluate(s.value, { file: program.main, bindings: [], blueprint: undefined });
    return v === UNKNOWN ? undefined : toText(v);
  };
  const timeout = topSetting('timeout');
  const body: Omit<Plan, 'planHash'> = {
    apiVersion: PLAN_API_VERSION,
    pipeline: {
      name: topSetting('name') ?? input.project,
      timeoutMs: (timeout ? parseDuration(timeout) : undefined) ?? DEFAULT_PIPELINE_TIMEOUT,
      concurrency: topSetting('concurrency') ?? null,
      triggers: triggersOf(program, expansion),
    },
    context: input.context,
    sources: program.files
      .map((f) => ({ path: nameOfPath(f.source.path), sha256: sha256(f.source.text) }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    libraries: [
      ...input.libraryPins,
      ...program.libraries.map((l) => ({ source: useSource(l.entry), sha256: input.localLibraryDigest ? input.localLibraryDigest(l.dir) : '' })),
    ].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)),
    environments: [...expansion.environments.entries()]
      .map(([name, env]): PlanEnvironment => ({
        name,
        url: environmentSetting(expansion, env, 'url'),
        settings: environmentSettings(expansion, env),
        credentials: environmentCredentials(expansion, env),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    configure: configureOf(program, expansion),
    stages,
    notes: [],
  };
  // The hash covers the compact JSON of the plan without planHash, fields in document order: a
  // consumer re-serialising the parsed document (minus planHash) gets the same bytes. Sorting keys
  // first would cost ten times as much on large plans.
  const bodyJson = JSON.stringify(body);
  const planHash = `sha256:${sha256(bodyJson)}`;
  const { apiVersion, ...rest } = body;
  const plan: Plan = { apiVersion, planHash, ...rest };
  // The plan's own JSON is the body's with planHash after apiVersion (the first field): spliced in,
  // not written out again (a 5,000-stage plan is 6 MB).
  const head = `{"apiVersion":${JSON.stringify(apiVersion)},`;
  if (bodyJson.startsWith(head)) rememberPlanJson(plan, `${head}"planHash":${JSON.stringify(planHash)},${bodyJson.slice(head.length)}`);
  return { plan, diagnostics: checked.diagnostics, expansion };
}

function triggersOf(program: Program, expansion: Expansion): PlanTriggers {
  const pipeline = program.main.items.find((i) => i.kind === 'pipeline');
  const block = pipeline?.kind === 'pipeline' ? pipeline.items.find((i) => i.kind === 'triggers') : undefined;
  const none: PlanTriggers = { declared: false, push: null, pullRequest: null, tag: null, cron: [], manual: true, api: true };
  if (!block || block.kind !== 'triggers') return none;
  const site = { file: program.main, bindings: [], blueprint: undefined };
  const list = (v: Maybe | undefined): string[] => (v === undefined || v === UNKNOWN ? [] : Array.isArray(v) ? (v as Maybe[]).map((x) => (x === UNKNOWN ? '' : toText(x))) : [toText(v)]);
  const setting = (items: readonly (Setting | Block)[], name: string): Maybe | undefined => {
    const s = items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
    return s ? expansion.evaluate(s.value, site) : undefined;
  };
  const sub = (name: string): Block | undefined => block.items.find((i): i is Block => i.kind === 'block' && i.name.name === name);
  const push = sub('push');
  const pr = sub('pullRequest');
  const tag = sub('tag');
  // Starting a run by hand or by API call stays open until the pipeline names one of the two.
  const manual = sub('manual') !== undefined;
  const api = sub('api') !== undefined;
  const byRequest = !manual && !api;
  return {
    declared: true,
    push: push ? { branches: list(setting(push.items, 'branches')), paths: list(setting(push.items, 'paths')) } : null,
    pullRequest: pr ? { branches: list(setting(pr.items, 'branches')) } : null,
    tag: tag ? { pattern: list(setting(tag.items, 'pattern'))[0] ?? '*' } : null,
    cron: list(setting(block.items, 'cron')),
    manual: manual || byRequest,
    api: api || byRequest,
  };
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

function useSource(entry: UseEntry): string {
  return entry.source.kind === 'ident' ? entry.source.name : (literal(entry.source) ?? entry.source.raw);
}

type EnvEntry = NonNullable<ReturnType<Expansion['environments']['get']>>;

function environmentSettings(expansion: Expansion, env: EnvEntry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of env.decl.items) {
    if (item.kind !== 'env-settings') continue;
    for (const s of item.settings) {
      const v = expansion.evaluate(s.value, { file: env.file, bindings: [], blueprint: undefined });
      out[s.name.name] = v === UNKNOWN ? '' : toText(v);
    }
  }
  return out;
}

function environmentSetting(expansion: Expansion, env: EnvEntry, name: string): string {
  const s = env.decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
  if (!s) return '';
  const v = expansion.evaluate(s.value, { file: env.file, bindings: [], blueprint: undefined });
  return v === UNKNOWN ? '' : toText(v);
}

function environmentCredentials(expansion: Expansion, env: EnvEntry): string[] {
  const s = env.decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === 'credentials');
  if (!s) return [];
  const v = expansion.evaluate(s.value, { file: env.file, bindings: [], blueprint: undefined });
  return Array.isArray(v) ? (v as unknown[]).map((x) => String(x)) : [];
}

function configureOf(program: Program, expansion: Expansion): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const item of program.main.items) {
    if (item.kind !== 'configure') continue;
    for (const block of item.blocks) {
      const settings: Record<string, string> = {};
      for (const s of block.items) {
        if (s.kind !== 'setting') continue;
        const v = expansion.evaluate(s.value, { file: program.main, bindings: [], blueprint: undefined });
        settings[s.name.name] = v === UNKNOWN ? '' : toText(v);
      }
      out[block.name.name] = settings;
    }
  }
  return out;
}

/** Why a stage will not run, or null. A skipped stage skips everything nested in it. */
function skipReason(
  stage: ExpandedStage,
  facts: StageFacts,
  gateConditions: ReadonlyArray<{ stage: ExpandedStage; condition: Condition }>,
  skipped: ReadonlyMap<ExpandedStage, string>,
): string | null {
  if (stage.parent && skipped.has(stage.parent)) return `the enclosing stage '${pathText(stage.parent) ?? ''}' is skipped`;
  if (stage.decl.kind !== 'stage') return null;
  const when = stage.decl.items.find((i): i is When => i.kind === 'when');
  for (const c of when?.conditions ?? []) {
    const r = evaluateCondition(c, stage.file.source, (v) => facts.value(stage, v));
    if (!r.value) return r.reason;
  }
  for (const { stage: owner, condition } of gateConditions) {
    const r = evaluateCondition(condition, owner.file.source, (v) => facts.value(owner, v));
    if (!r.value) return `enter gate: ${r.reason}`;
  }
  return null;
}

function notifications(stage: ExpandedStage, facts: StageFacts): PlanNotification[] {
  if (stage.decl.kind !== 'stage') return [];
  const notify = stage.decl.items.find((i): i is Notify => i.kind === 'notify');
  const out: PlanNotification[] = [];
  for (const phase of notify?.items ?? []) {
    for (const step of phase.steps) {
      const get = (name: string, position: number): string => {
        const kw = step.args.find((a) => a.kind === 'kwarg' && a.name.name === name);
        const pos = step.args.filter((a) => a.kind === 'positional')[position];
        const arg = kw ?? (position >= 0 ? pos : undefined);
        return arg ? facts.text(stage, arg.value) : '';
      };
      const kind = step.name.name as 'slack' | 'http' | 'echo';
      if (kind === 'slack') out.push({ on: phase.on, kind, message: get('message', 0), target: get('channel', -1), method: 'POST', body: '' });
      else if (kind === 'http') out.push({ on: phase.on, kind, message: '', target: get('url', 0), method: get('method', -1) || 'POST', body: get('body', -1) });
      else if (kind === 'echo') out.push({ on: phase.on, kind, message: get('message', 0), target: '', method: '', body: '' });
    }
  }
  return out;
}

export { truthy, siteOf };
