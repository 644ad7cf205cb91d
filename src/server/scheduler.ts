// The server's run manager: triggers runs (fetch, check out, plan, record), drives each active run
// with an orchestrator, and after a restart picks every unfinished run up where it stopped.

import { join } from 'node:path';
import {
  CallbackTokens,
  fromStored,
  type ReusedStage,
  type RunEvent,
  createRun,
  HttpNotifier,
  InputGates,
  Orchestrator,
  ProcessGateHost,
  StoreLocks,
  StoreSecrets,
} from '../engine/index.js';
import { diagnosticToJson } from '../lang/index.js';
import { planFile } from '../plan/index.js';
import type { AgentEvent } from '../protocol/agent.js';
import type { Plan } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import type { ProjectRecord, RunRecord, StageRecord } from '../store/types.js';
import type { RemoteDispatcher } from './dispatcher.js';
import { ApiError } from './errors.js';
import type { RunBus } from './event-bus.js';
import { ServerJobs } from './server-jobs.js';
import type { Sources } from './source.js';
import type { AgentDispatcher, EventListener } from '../engine/index.js';
import type { PlanRuntime } from '../protocol/plan.js';

export interface TriggerRequest {
  readonly branch?: string;
  readonly sha?: string;
  readonly tag?: string;
  readonly event?: string;
  readonly vars?: Readonly<Record<string, string>>;
  /** The revision changed files are computed against (a push's previous head). */
  readonly base?: string;
  readonly actor: string;
  /** Decides, from the plan, whether to run at all (webhooks match the pipeline's triggers). */
  readonly accept?: (plan: Plan) => { run: boolean; reason: string };
}

export class NotTriggered extends Error {}

export interface SchedulerOptions {
  readonly store: Store;
  readonly dispatcher: RemoteDispatcher;
  readonly sources: Sources;
  readonly bus: RunBus;
  readonly dataDir: string;
  /** This server's identity as the owner of the runs it drives. */
  readonly owner: string;
  /** The URL agents and external systems reach this server at (callback URLs). */
  readonly publicUrl: () => string;
  readonly secretKey: () => Buffer;
  readonly graceMs: number;
  readonly log: (message: string) => void;
  readonly metrics?: { stageFinished(record: StageRecord): void; runFinished(status: string): void };
}

export class Scheduler {
  private readonly active = new Map<string, Orchestrator>();
  private readonly routes = new Map<string, RunDispatcher>();

  constructor(private readonly options: SchedulerOptions) {
    // One listener routes every agent report to the run it belongs to.
    options.dispatcher.onEvent((e, endOfDelivery) => this.route(e.jobId)?.event(e, endOfDelivery));
    options.dispatcher.onLost((jobId, reason) => this.route(jobId)?.lost(jobId, reason));
    options.dispatcher.onAssigned((jobId, agent) => this.route(jobId)?.assigned(jobId, agent));
    options.dispatcher.onWaiting((jobId, reason) => this.route(jobId)?.waiting(jobId, reason));
  }

  private route(jobId: string): RunDispatcher | undefined {
    return this.routes.get(jobId.slice(0, jobId.indexOf('/')));
  }

  /** Drives every unfinished run again (after a restart: agents may still be running jobs). */
  async recover(): Promise<void> {
    for (const status of ['queued', 'running', 'waiting', 'interrupted'] as const) {
      for (const run of await this.options.store.listRuns({ status, limit: 10_000 })) {
        if (this.active.has(run.id)) continue;
        const project = await this.options.store.getProject(run.project);
        if (!project) continue;
        await this.drive(run, project, run.status === 'queued' && run.startedAt === null ? 'start' : 'recover');
      }
    }
  }

  async trigger(projectName: string, req: TriggerRequest): Promise<RunRecord> {
    const project = await this.options.store.getProject(projectName);
    if (!project) throw new ApiError('not_found', `there is no project '${projectName}'`);
    // A trigger naming a commit the mirror already holds needs no fetch: the common case for
    // webhooks repeated, reruns and API triggers by sha.
    if (!(req.sha && this.options.sources.has(project.name, req.sha))) await this.options.sources.fetch(project.name, project.repo);
    const branch = req.branch ?? (req.tag || req.sha ? '' : project.defaultBranch);
    const sha = this.options.sources.resolve(project.name, { ...(req.sha ? { sha: req.sha } : {}), ...(branch ? { branch } : {}), ...(req.tag ? { tag: req.tag } : {}) });
    const checkout = await this.options.sources.cachedCheckout(project.name, sha);
    {
      const file = join(checkout, project.pipeline);
      const flags = {
        event: req.event ?? 'api',
        branch,
        sha,
        ...(req.tag ? { tag: req.tag } : {}),
        vars: Object.entries(req.vars ?? {}).map(([k, v]) => `${k}=${v}`),
        ...(req.base ? { base: req.base } : {}),
        changed: req.base ? this.options.sources.changedFiles(project.name, req.base, sha) : [],
      };
      let planned;
      try {
        planned = planFile(file, flags, undefined, project.name);
      } catch (e) {
        throw new ApiError('bad_request', (e as Error).message);
      }
      const plan = planned.plan;
      if (plan && req.accept) {
        const verdict = req.accept(plan);
        if (!verdict.run) throw new NotTriggered(verdict.reason);
      }
      const trigger = { event: flags.event, branch, tag: req.tag ?? '', sha, actor: req.actor, commitAt: this.options.sources.commitTime(project.name, sha) };
      if (!plan) {
        const run = await this.options.store.createRun({
          project: project.name,
          plan: null,
          pipeline: project.name,
          trigger,
          status: 'invalid',
          owner: null,
          at: Date.now(),
          message: 'the pipeline is invalid; nothing ran',
          diagnostics: planned.diagnostics.map((d) => diagnosticToJson(d, d.source.path.startsWith(checkout) ? d.source.path.slice(checkout.length + 1) : d.source.path)),
        });
        this.options.bus.publish(run.id);
        return run;
      }
      const run = await createRun(this.options.store, { project: project.name, plan, trigger, owner: this.options.owner, at: Date.now() });
      await this.options.store.appendAudit({ at: Date.now(), actor: req.actor, action: 'run.triggered', target: `run:${run.id}`, details: { project: project.name, event: flags.event, branch, sha, tag: req.tag ?? '' } });
      await this.drive(run, project, 'start');
      return (await this.options.store.getRun(run.id)) as RunRecord;
    }
  }

  /** Starts (or recovers) the orchestrator of a run. */
  private async drive(run: RunRecord, project: ProjectRecord, mode: 'start' | 'recover'): Promise<void> {
    const { store } = this.options;
    const secrets = new StoreSecrets(store, project.name, this.options.secretKey);
    const callbacks = new CallbackTokens(store, async () => this.options.publicUrl());
    const announce = (m: string): void => this.options.log(m);
    const gates = new ProcessGateHost({
      store,
      // In server mode people answer through the API and the web UI: nothing is approved ahead.
      input: new InputGates({ preApproved: new Set(), actor: 'server', announce: () => undefined }),
      callbackBase: async () => this.options.publicUrl(),
      announce,
      callbacks,
    });
    const route = new RunDispatcher(this.options.dispatcher);
    this.routes.set(run.id, route);
    const holder: { orchestrator?: Orchestrator } = {};
    // Stage attempts that ended before this server took the run were observed by another process.
    const observed = new Set<string>(
      mode === 'recover' ? (await store.listStages(run.id)).filter((r) => r.finishedAt !== null).map((r) => `${r.path}#${r.attempt}`) : [],
    );
    const orchestrator: Orchestrator = new Orchestrator({
      store,
      runId: run.id,
      agents: route,
      jobs: new ServerJobs({
        dispatcher: this.options.dispatcher,
        repo: project.repo,
        project: project.name,
        secrets,
        callbacks,
        earlierRuns: await this.earlierRuns(run),
        objectsDir: join(this.options.dataDir, 'objects'),
        graceMs: this.options.graceMs,
        jobOf: async (stage) => {
          const mine = lastDispatch(holder.orchestrator?.events ?? [], stage);
          if (mine) return mine;
          const from = holder.orchestrator?.machine.stages.get(stage)?.reusedFrom;
          return from ? lastDispatch((await store.readEvents(from)).map(fromStored), stage) : undefined;
        },
      }),
      maxJobs: Number.MAX_SAFE_INTEGER,
      owner: this.options.owner,
      gates,
      locks: new StoreLocks(store),
      notifier: new HttpNotifier({ store, project: project.name, secret: (name, env) => secrets.get(name, env).catch(() => undefined), report: announce }),
      listener: {
        event: () => this.options.bus.publish(run.id),
        logs: () => this.options.bus.publish(run.id, 'logs'),
        stages: (records) => {
          // Every event sends every stage: observe each finished attempt once.
          for (const r of records) {
            const key = `${r.path}#${r.attempt}`;
            if (r.finishedAt === null || observed.has(key)) continue;
            observed.add(key);
            this.options.metrics?.stageFinished(r);
          }
        },
      },
    });
    holder.orchestrator = orchestrator;
    this.active.set(run.id, orchestrator);
    await orchestrator.start(mode);
    void orchestrator.done.then((status: string) => {
      this.active.delete(run.id);
      this.routes.delete(run.id);
      gates.closeAll();
      this.options.metrics?.runFinished(status);
      this.options.bus.publish(run.id);
      if (orchestrator.error) this.options.log(`run ${run.id} stopped on an internal error: ${(orchestrator.error as Error).message}`);
    });
  }

  /** Runs a recorded run again with its plan; with fromFailed, stages that did not fail are reused. */
  async rerun(runId: string, fromFailed: boolean, actor: string): Promise<RunRecord> {
    const { store } = this.options;
    const old = await store.getRun(runId);
    if (!old) throw new ApiError('not_found', `there is no run '${runId}'`);
    const plan = await store.getPlan(old.id);
    if (!plan) throw new ApiError('conflict', `run ${old.id} has no plan (it was invalid)`);
    const project = await store.getProject(old.project);
    if (!project) throw new ApiError('not_found', `run ${old.id}'s project '${old.project}' no longer exists`);
    const reused: Record<string, ReusedStage> = {};
    if (fromFailed) {
      if (old.status === 'succeeded') throw new ApiError('conflict', `run ${old.id} succeeded: no stage failed`);
      if (['queued', 'running', 'waiting'].includes(old.status)) throw new ApiError('conflict', `run ${old.id} has not ended`);
      const machine = (await import('../engine/index.js')).RunMachine.fold((await store.readEvents(old.id)).map(fromStored));
      for (const path of machine.order) {
        const s = machine.stages.get(path)!;
        if (s.status === 'succeeded' || s.status === 'unstable' || (s.status === 'skipped' && s.plan.skip !== null)) {
          reused[path] = { fromRun: s.reusedFrom ?? old.id, status: s.status, attempt: s.attempt };
        }
      }
    }
    const run = await createRun(store, { project: old.project, plan, trigger: { ...old.trigger, actor }, owner: this.options.owner, at: Date.now(), reused, rerunOf: old.id });
    await store.appendAudit({ at: Date.now(), actor, action: 'run.rerun', target: `run:${run.id}`, details: { of: old.id, fromFailed } });
    await this.drive(run, project, 'start');
    return (await store.getRun(run.id)) as RunRecord;
  }

  /** What a branch or commit would run, without running it (the explain view). */
  async preview(projectName: string, req: { branch?: string; sha?: string; event?: string; vars?: Record<string, string> }): Promise<{ plan?: Plan; diagnostics: unknown[] }> {
    const project = await this.options.store.getProject(projectName);
    if (!project) throw new ApiError('not_found', `there is no project '${projectName}'`);
    if (!(req.sha && this.options.sources.has(project.name, req.sha))) await this.options.sources.fetch(project.name, project.repo);
    const branch = req.branch ?? (req.sha ? '' : project.defaultBranch);
    const sha = this.options.sources.resolve(project.name, { ...(req.sha ? { sha: req.sha } : {}), ...(branch ? { branch } : {}) });
    const checkout = await this.options.sources.cachedCheckout(project.name, sha);
    {
      const planned = planFile(join(checkout, project.pipeline), { event: req.event ?? 'manual', branch, sha, vars: Object.entries(req.vars ?? {}).map(([k, v]) => `${k}=${v}`) }, undefined, project.name);
      const rel = (p: string): string => (p.startsWith(checkout) ? p.slice(checkout.length + 1) : p);
      return { ...(planned.plan ? { plan: planned.plan } : {}), diagnostics: planned.diagnostics.map((d) => diagnosticToJson(d, rel(d.source.path))) };
    }
  }

  private async earlierRuns(run: RunRecord): Promise<string[]> {
    const out: string[] = [];
    for (let id = run.rerunOf; id && out.length < 100; ) {
      out.push(id);
      id = (await this.options.store.getRun(id))?.rerunOf ?? null;
    }
    return out;
  }

  orchestrator(runId: string): Orchestrator | undefined {
    return this.active.get(runId);
  }

  activeRuns(): number {
    return this.active.size;
  }

  async stop(): Promise<void> {
    this.active.clear();
  }
}

function lastDispatch(events: readonly RunEvent[], stage: string): string | undefined {
  let jobId: string | undefined;
  for (const e of events) if (e.type === 'stage.dispatched' && e.stage === stage) jobId = e.jobId;
  return jobId;
}

/** The dispatcher as one run sees it: only its own jobs' reports. */
class RunDispatcher implements AgentDispatcher {
  private readonly eventListeners: EventListener[] = [];
  private readonly lostListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly assignedListeners: Array<(jobId: string, agent: string) => void> = [];
  private readonly waitingListeners: Array<(jobId: string, reason: string) => void> = [];

  constructor(private readonly inner: RemoteDispatcher) {}

  capabilities(): readonly string[] {
    return this.inner.capabilities();
  }
  refuse(_runtime: PlanRuntime): string | undefined {
    return undefined;
  }
  dispatch(job: Parameters<AgentDispatcher['dispatch']>[0]): void {
    this.inner.dispatch(job);
  }
  cancel(jobId: string, reason: string): void {
    this.inner.cancel(jobId, reason);
  }
  onEvent(l: EventListener): void {
    this.eventListeners.push(l);
  }
  onLost(l: (jobId: string, reason: string) => void): void {
    this.lostListeners.push(l);
  }
  onAssigned(l: (jobId: string, agent: string) => void): void {
    this.assignedListeners.push(l);
  }
  onWaiting(l: (jobId: string, reason: string) => void): void {
    this.waitingListeners.push(l);
  }
  async close(): Promise<void> {}
  /** Settles when every listener has recorded the report. */
  async event(e: AgentEvent, endOfDelivery?: boolean): Promise<void> {
    await Promise.all(this.eventListeners.map((l) => l(e, endOfDelivery)));
  }
  lost(jobId: string, reason: string): void {
    for (const l of this.lostListeners) l(jobId, reason);
  }
  assigned(jobId: string, agent: string): void {
    for (const l of this.assignedListeners) l(jobId, agent);
  }
  waiting(jobId: string, reason: string): void {
    for (const l of this.waitingListeners) l(jobId, reason);
  }
}
