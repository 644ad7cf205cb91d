// `otto run [FILE]`: plan the pipeline and run it here, with the same engine the server uses.
//
// Start-up is most of a short run, so this module loads little by itself: the local agent's process
// is started first, and the planner, the store and the engine are loaded while it boots.

import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { availableParallelism, userInfo } from 'node:os';
import type { ContextFlags } from '../../plan/index.js';
import type { GateHost, CallbackTokens, Notifier, Orchestrator, SecretSource } from '../../engine/index.js';
import { LocalAgent } from '../../engine/local-agent.js';
import { parseKeepWorkspaces } from '../keep-workspaces.js';
import { stepEnvNames } from '../step-env.js';
import type { Plan } from '../../protocol/plan.js';
import type { RunRecord, Store } from '../../store/index.js';
import { displayPath, EXIT, UsageError, useColor, writeErr, writeOut } from '../io.js';
import { buildFile } from '../../util/install.js';
import { gcDue, startGc } from '../../util/gc-schedule.js';
import { didYouMean } from '../../util/suggest.js';

export interface RunOptions extends ContextFlags {
  readonly jobs?: string;
  readonly inPlace?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** Hooks the next issue's features plug into (gates, secrets, notifications). */
export interface RunExtensions {
  readonly gates?: (ctx: {
    store: Store;
    runId: string;
    interactive: boolean;
    orchestrator: () => Orchestrator;
    view: { pause?: () => void; resume?: () => void };
    announce: (message: string) => void;
    callbacks: CallbackTokens | undefined;
  }) => GateHost | undefined;
  readonly callbacks?: (ctx: { store: Store }) => CallbackTokens | undefined;
  readonly close?: () => Promise<void>;
  /** Stage paths approved in advance (checked against the plan). */
  readonly approve?: readonly string[];
  readonly secrets?: (ctx: { store: Store; project: string }) => SecretSource | undefined;
  readonly notifier?: (ctx: { store: Store; project: string }) => Notifier | undefined;
  readonly maskValues?: readonly string[];
  /** Loads what the hooks above need for this plan; awaited before any of them is called. */
  readonly load?: (plan: Plan) => Promise<void>;
}

/** The agent's entry script, next to this CLI in the build (dist/src/agent/main.js). */
export function agentMain(): string {
  return buildFile('agent/main.js');
}

export function parseJobs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--jobs '${value}' is not a number from 1 to 1024`, 'write --jobs 4');
  return n;
}

export async function runRun(fileArg: string | undefined, options: RunOptions, ext: RunExtensions = {}): Promise<number> {
  const maxJobs = parseJobs(options.jobs, Math.max(1, availableParallelism()));
  const keepWorkspaces = parseKeepWorkspaces();
  const stepEnv = stepEnvNames();
  const file = fileArg ?? 'Ottofile';
  // The agent boots (a Node process: ~100 ms) while this process loads the planner and plans; it is
  // first waited for in drive(). Not when the file named is missing: that is an error at once.
  const agent = fileArg === undefined || existsSync(file) ? new LocalAgent({ agentMain: agentMain() }) : undefined;
  try {
    return await planAndRun(fileArg, file, { maxJobs, keepWorkspaces, stepEnv }, options, ext, agent);
  } finally {
    await agent?.close();
  }
}

async function planAndRun(fileArg: string | undefined, file: string, limits: { maxJobs: number; keepWorkspaces: number; stepEnv: readonly string[] }, options: RunOptions, ext: RunExtensions, agent: LocalAgent | undefined): Promise<number> {
  driveModules().catch(() => undefined); // loaded alongside, for drive() (which reports a failure)
  const [{ diagnosticToJson, renderDiagnostics }, { planFile }, { ContextError }, { inferPipeline }, { assertReadable }, { openStore }, { createRun }, { localOwner }] = await Promise.all([
    import('../../lang/index.js'),
    import('../../plan/plan-file.js'),
    import('../../plan/git-context.js'),
    import('../../plan/infer.js'),
    import('./check.js'),
    import('../home.js'),
    import('../../engine/create-run.js'),
    import('../../engine/locks.js'),
  ]);
  let text: string | undefined;
  if (fileArg === undefined && !existsSync(file)) {
    const inferred = inferPipeline(process.cwd());
    if (!inferred) throw new UsageError('there is no Ottofile here, and this does not look like a Node, Go, Rust, Python or Make project', 'write an Ottofile (otto init writes a start), or name a pipeline file: otto run ci.otto');
    text = inferred.text;
    writeErr(`No Ottofile here: running the pipeline Otto infers for a ${inferred.kind} project (from ${inferred.evidence}).`);
  } else {
    assertReadable(file);
  }
  file = resolve(file);
  const projectDir = dirname(file);
  let planned;
  try {
    planned = planFile(file, options, text);
  } catch (e) {
    if (e instanceof ContextError) throw new UsageError(e.message, e.help);
    throw e;
  }
  const store = openStore(projectDir, { create: true });
  try {
    const trigger = { event: planned.plan?.context.event ?? options.event ?? 'manual', branch: planned.plan?.context.branch ?? '', tag: planned.plan?.context.tag ?? '', sha: planned.plan?.context.sha ?? '', actor: actorName() };
    if (!planned.plan) {
      const run = await store.createRun({
        project: projectName(projectDir),
        plan: null,
        pipeline: projectName(projectDir),
        trigger,
        status: 'invalid',
        owner: null,
        at: Date.now(),
        message: 'the pipeline is invalid; nothing ran',
        diagnostics: planned.diagnostics.map((d) => diagnosticToJson(d, displayPath(d.source.path))),
      });
      if (options.json) writeOut(JSON.stringify({ ...(await import('../ui/summary.js')).runJson(run, []), diagnostics: planned.diagnostics.map((d) => diagnosticToJson(d, displayPath(d.source.path))) }, null, 2));
      else {
        writeErr(renderDiagnostics(planned.diagnostics, { color: useColor(process.stderr), displayPath }));
        writeErr(`\nrun ${run.id}: invalid pipeline; nothing ran`);
      }
      return EXIT.usage;
    }
    const plan = planned.plan;
    checkApprovals(plan, ext.approve ?? []);
    const run = await createRun(store, { project: projectName(projectDir), plan, trigger, owner: localOwner(), at: Date.now() });
    return await drive(store, run, plan, projectDir, { mode: 'start', ...limits, inPlace: options.inPlace === true, json: options.json === true, quiet: options.quiet === true, ...(agent ? { agent } : {}) }, ext);
  } finally {
    await store.close();
  }
}

/** `--approve STAGE` must name a stage that waits for a person: a typo would hold the run. */
export function checkApprovals(plan: Plan, stages: readonly string[]): void {
  const gated = plan.stages.filter((s) => [...s.gates.enter, ...s.gates.exit].some((g) => g.kind === 'input')).map((s) => s.path);
  for (const name of stages) {
    if (gated.includes(name)) continue;
    throw new UsageError(
      `--approve ${name}: no stage of this pipeline by that name waits for a person`,
      gated.length ? didYouMean(name, gated, 'stages with input gates') : 'this pipeline has no input gates',
    );
  }
}

/** The chain of runs a rerun reruns: their artifacts are those of the stages it carried over. */
async function earlierRuns(store: Store, run: RunRecord): Promise<string[]> {
  const out: string[] = [];
  for (let id = run.rerunOf; id && out.length < 100; ) {
    out.push(id);
    id = (await store.getRun(id))?.rerunOf ?? null;
  }
  return out;
}

export function projectName(dir: string): string {
  return dir.split('/').filter(Boolean).pop() ?? 'project';
}

export function actorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'someone';
  }
}

export interface DriveOptions {
  readonly mode: 'start' | 'resume';
  readonly maxJobs: number;
  readonly inPlace: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
  /** Finished runs that keep their workspaces (parseKeepWorkspaces). */
  readonly keepWorkspaces: number;
  /** Variables of otto's environment steps start with too (OTTO_STEP_ENV). */
  readonly stepEnv: readonly string[];
  readonly reusedWorkspaces?: ReadonlyMap<string, string>;
  /** An agent already started (otto run starts it early); drive closes it. Default: a new one. */
  readonly agent?: LocalAgent;
}

let driveModulesLoading: ReturnType<typeof loadDriveModules> | undefined;

/** What drive() needs, loaded once (otto run starts loading it while it plans). */
function driveModules(): ReturnType<typeof loadDriveModules> {
  return (driveModulesLoading ??= loadDriveModules());
}

function loadDriveModules() {
  return Promise.all([
    import('../home.js'),
    import('../ui/run-view.js'),
    import('../ui/summary.js'),
    import('../../plan/library-cache.js'),
    import('../../engine/orchestrator.js'),
    import('../../engine/local-jobs.js'),
    import('../../engine/locks.js'),
    import('../../engine/workspaces.js'),
    import('../../engine/agents.js'),
    import('../../engine/workspace-retention.js'),
  ]);
}

/** Runs (or resumes) a recorded run to its end in this process, showing it as it goes. */
export async function drive(store: Store, run: RunRecord, plan: Plan, projectDir: string, options: DriveOptions, ext: RunExtensions = {}): Promise<number> {
  const agent = options.agent ?? new LocalAgent({ agentMain: agentMain() });
  const [{ ottoHome }, { PlainView, TreeView }, { printSummary, runJson }, { libraryCacheRoot }, { Orchestrator }, { LocalJobs }, { StoreLocks, localOwner }, { Workspaces }, { missingRuntime }, { pruneWorkspaces }] = await driveModules();
  const home = ottoHome(projectDir);
  const interactive = process.stdout.isTTY === true && !options.json;
  const color = useColor(process.stdout);
  const view = options.json ? undefined : interactive ? new TreeView({ out: process.stdout, color }) : new PlainView({ out: process.stdout, color, quiet: options.quiet });
  await Promise.all([
    agent.ready.catch((e: Error) => {
      throw new UsageError(`the local agent did not start: ${e.message}`, 'reinstall with npm ci; set OTTO_DEBUG=1 for details');
    }),
    ext.load?.(plan),
  ]);
  const caps = agent.capabilities();
  for (const s of plan.stages) {
    const missing = s.skip === null ? missingRuntime(s.runtime, caps) : undefined;
    if (missing) writeErr(`warning: stage '${s.path}' cannot run here: ${missing}`);
  }
  const workspaces = new Workspaces({ project: projectDir, runDir: join(home, 'runs', run.id), inPlace: options.inPlace, ...(options.reusedWorkspaces ? { reused: options.reusedWorkspaces } : {}) });
  const project = run.project;
  const secrets = ext.secrets?.({ store, project });
  const notifier = ext.notifier?.({ store, project });
  // The gate host needs the orchestrator (to record decisions) and the orchestrator the host.
  const holder: { orchestrator?: Orchestrator } = {};
  const viewHooks = view instanceof TreeView ? { pause: () => view.pause(), resume: () => view.resume() } : {};
  const announce = (message: string): void => {
    viewHooks.pause?.();
    process.stderr.write(`${message}\n`);
    viewHooks.resume?.();
  };
  const callbacks = ext.callbacks?.({ store });
  const gates = ext.gates?.({ store, runId: run.id, interactive, orchestrator: () => holder.orchestrator as Orchestrator, view: viewHooks, announce, callbacks });
  const orchestrator = new Orchestrator({
    store,
    runId: run.id,
    agents: agent,
    jobs: new LocalJobs({
      workspaces,
      objectsDir: join(home, 'objects'),
      project,
      libraryRoot: libraryCacheRoot(),
      ...(secrets ? { secrets } : {}),
      ...(ext.maskValues ? { maskValues: ext.maskValues } : {}),
      ...(callbacks ? { callbacks } : {}),
      earlierRuns: await earlierRuns(store, run),
      stepEnv: options.stepEnv,
      // The agent writes step output to the store's log files itself; otto run only indexes it.
      ...(store.logFileFor ? { logFiles: (r: string, s: string, a: number) => store.logFileFor?.(r, s, a) ?? Promise.resolve(undefined) } : {}),
    }),
    maxJobs: options.maxJobs,
    owner: localOwner(),
    locks: new StoreLocks(store),
    ...(gates ? { gates } : {}),
    ...(notifier ? { notifier } : {}),
    ...(view ? { listener: view } : {}),
  });
  holder.orchestrator = orchestrator;
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      writeErr('\ncancelling… (Ctrl-C again to stop at once)');
      orchestrator.cancel(actorName(), 'Ctrl-C');
    } else {
      process.exit(EXIT.cancelled);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    if (!options.json && !interactive) writeErr(`run ${run.id}: ${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}, plan ${plan.planHash.slice(0, 19)}…`);
    await orchestrator.start(options.mode);
    const status = await orchestrator.done;
    if (view instanceof TreeView) view.stop();
    if (view instanceof PlainView) view.flush();
    if (orchestrator.error) throw orchestrator.error;
    // The agent has no job left: it exits while the summary is printed (and is waited for before this returns).
    const closing = agent.close();
    const final = (await store.getRun(run.id)) as RunRecord;
    const stages = await store.listStages(run.id);
    if (options.json) writeOut(JSON.stringify(runJson(final, stages), null, 2));
    else printSummary(final, stages, { color: useColor(process.stderr), out: process.stderr });
    // Older runs' copies of the project go while the agent exits (OTTO_KEEP_WORKSPACES); old
    // artifacts and caches about once a day, in the background (otto gc).
    const pruning = pruneWorkspaces(store, home, options.keepWorkspaces).catch((e: Error) => writeErr(`warning: could not remove old runs' workspaces: ${e.message}`));
    if (gcDue(join(home, 'gc-stamp'))) startGc([], projectDir);
    await Promise.all([closing, pruning]);
    return status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await agent.close();
    await ext.close?.();
    (gates as { closeAll?: () => void } | undefined)?.closeAll?.();
  }
}
