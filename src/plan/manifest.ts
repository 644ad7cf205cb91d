// A stage's execution manifest: the ordered ops an agent runs (see docs/plan.md).

import { posix } from 'node:path';
import { parseDuration, UNKNOWN, toText, type ExpandedStage, type Maybe, type Program, type Step, type Value } from '../lang/index.js';
import type { Op, PlanCacheSave, PlanVar } from '../protocol/plan.js';
import type { StageFacts } from './stage-facts.js';

export interface ManifestInput {
  readonly stage: ExpandedStage;
  readonly path: string;
  readonly workspaceFrom: string | null;
  readonly vars: readonly PlanVar[];
  readonly restores: readonly string[];
  /** Every cache the pipeline declares, by name (for the key files of a restore). */
  readonly declared: ReadonlyMap<string, PlanCacheSave>;
  readonly saves: readonly PlanCacheSave[];
  readonly timeoutMs: number;
  /** How to name a step library's directory without an absolute path. */
  readonly libraryRef: (dir: string) => string;
}

export function buildManifest(facts: StageFacts, program: Program, input: ManifestInput): Op[] {
  const { stage } = input;
  const steps = stage.decl.kind === 'steps' ? stage.decl.steps : (stage.decl.items.find((i) => i.kind === 'steps')?.steps ?? []);
  if (steps.length === 0 && input.saves.length === 0 && input.restores.length === 0) return [];
  const ops: Op[] = [{ op: 'BEGINCTX', stage: input.path, workspaceFrom: input.workspaceFrom }];
  ops.push({ op: 'SETVARS', vars: input.vars });
  for (const name of input.restores) {
    ops.push({ op: 'CACHE_RESTORE', name, keyFiles: input.declared.get(name)?.keyFiles ?? [] });
  }
  const counter = { n: 0 };
  for (const step of steps) stepOps(facts, program, input, step, '.', counter, ops);
  for (const save of input.saves) ops.push({ op: 'CACHE_SAVE', ...save });
  ops.push({ op: 'ENDCTX' });
  return ops;
}

function args(facts: StageFacts, stage: ExpandedStage, step: Step, names: readonly string[]): Map<string, Maybe> {
  const out = new Map<string, Maybe>();
  let i = 0;
  for (const a of step.args) {
    if (a.kind === 'kwarg') out.set(a.name.name, facts.value(stage, a.value));
    else {
      const name = names[i++];
      if (name !== undefined) out.set(name, facts.value(stage, a.value));
    }
  }
  return out;
}

function text(x: Maybe | undefined, d = ''): string {
  return x === undefined || x === UNKNOWN ? d : toText(x);
}

function stepOps(facts: StageFacts, program: Program, input: ManifestInput, step: Step, cwd: string, counter: { n: number }, ops: Op[]): void {
  const stage = input.stage;
  const spec = program.steps.get(step.name.name);
  const names = spec ? spec.params.slice(0, spec.positional).map((p) => p.name) : [];
  const a = args(facts, stage, step, names);
  const timeoutS = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
  const stepTimeout = (): number => {
    const t = a.get('timeout');
    const ms = typeof t === 'string' ? parseDuration(t) : undefined;
    return timeoutS(Math.min(ms ?? input.timeoutMs, input.timeoutMs));
  };
  const proc = (label: string, script: string, extra: Partial<Extract<Op, { op: 'RUNPROC' }>> = {}): Op => ({
    op: 'RUNPROC',
    step: counter.n++,
    label,
    script,
    command: [],
    libraryDir: '',
    invocation: null,
    cwd,
    timeoutS: stepTimeout(),
    returnStatus: false,
    ...extra,
  });
  switch (step.name.name) {
    case 'sh': {
      const script = text(a.get('script'));
      ops.push(proc(text(a.get('label'), firstLine(script)), script, { returnStatus: a.get('returnStatus') === true }));
      return;
    }
    case 'echo':
      ops.push({ op: 'EMIT', step: counter.n++, kind: 'log', message: text(a.get('message')) });
      return;
    case 'error':
      ops.push({ op: 'EMIT', step: counter.n++, kind: 'fail', message: text(a.get('message')) });
      return;
    case 'dir': {
      const sub = posix.normalize(posix.join(cwd, text(a.get('path'))));
      for (const s of step.body ?? []) stepOps(facts, program, input, s, sub, counter, ops);
      return;
    }
    case 'archive': {
      const patterns = facts.strings(a.get('artifacts'));
      ops.push({ op: 'STORE', step: counter.n++, artifact: text(a.get('name'), stage.name ?? input.path), patterns, cwd });
      return;
    }
    case 'unarchive': {
      // An absolute `into` stays absolute so the agent refuses it (the checker reports it first).
      const into = text(a.get('into'), '.');
      ops.push({ op: 'FETCH', step: counter.n++, artifact: text(a.get('name')), into: posix.isAbsolute(into) ? into : posix.normalize(posix.join(cwd, into)) });
      return;
    }
    case 'git': {
      const url = text(a.get('url'));
      const branch = text(a.get('branch'));
      const into = text(a.get('into'), repoName(url));
      const script = `git clone --quiet${branch ? ` --branch ${shellQuote(branch)}` : ''} -- ${shellQuote(url)} ${shellQuote(into)}`;
      ops.push(proc(`git clone ${url}`, script));
      return;
    }
  }
  if (spec?.library) {
    const invocation: Record<string, unknown> = {};
    for (const p of spec.params) {
      const v = a.get(p.name);
      if (v !== undefined && v !== UNKNOWN) invocation[p.name] = v;
      else if (p.default !== undefined) invocation[p.name] = JSON.parse(p.default) as unknown;
    }
    ops.push(
      proc(step.name.name, '', {
        command: [spec.library.entrypoint],
        libraryDir: input.libraryRef(spec.library.dir),
        invocation: { symbol: spec.name, library: spec.library.name, args: invocation },
      }),
    );
  }
}

function firstLine(script: string): string {
  const line = script.trim().split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

function repoName(url: string): string {
  const base = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? 'repo';
  return base.replace(/\.git$/, '') || 'repo';
}

/** POSIX single-quote quoting: safe for any text. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export type { Value };
