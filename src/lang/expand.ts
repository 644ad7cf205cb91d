// Expands a program's node tree into concrete stages: blueprints spliced in, `each` unrolled,
// names evaluated, paths assigned. Shared by the checker (context unknown) and the planner.

import type {
  Blueprint,
  EnvironmentDecl,
  Each,
  Ident,
  Node,
  OttoFile,
  Parallel,
  Pipeline,
  RefExpr,
  Setting,
  Stage,
  StagesBlock,
  StepsBlock,
  StringLit,
  Value,
} from './ast.js';
import { Evaluator, UNKNOWN, type EvalProblem, type Maybe, type PlanValue, type Scope } from './evaluate.js';
import type { BlueprintUnit, Program } from './program.js';
import { literal } from './program.js';
import { closest } from '../util/suggest.js';
import type { Span } from './source.js';

/** The trigger context as far as it is known. Absent fields are unknown (checking). */
export interface ExpandContext {
  readonly branch?: string;
  readonly tag?: string;
  readonly event?: string;
  readonly sha?: string;
  readonly project?: string;
  /** `--var k=v`; undefined when unknown. */
  readonly vars?: Readonly<Record<string, string>>;
  readonly changedFiles?: readonly string[];
}

export interface Binding {
  /** `it`, or the `as` name. */
  readonly name: string;
  readonly value: Maybe;
  readonly isIt: boolean;
}

/** A blueprint being expanded, with the vars it was given. */
export interface BlueprintScope {
  readonly unit: BlueprintUnit;
  readonly vars: ReadonlyMap<string, Maybe>;
}

export interface ExpandedStage {
  readonly kind: 'stage';
  readonly decl: Stage | StepsBlock;
  readonly file: OttoFile;
  /** Undefined when the name depends on something not known yet. */
  readonly name: string | undefined;
  /** The names from the root joined by '/', or undefined when any of them is unknown. */
  readonly path: string | undefined;
  /** Where the name came from, for diagnostics. */
  readonly nameSpan: Span;
  readonly explicitName: boolean;
  readonly parent: ExpandedStage | undefined;
  readonly bindings: readonly Binding[];
  readonly blueprint: BlueprintScope | undefined;
  readonly children: Seq;
  /** The containers from the root to this stage: for ordering questions. */
  readonly trail: readonly TrailStep[];
  /** Position in expansion order (document order after expansion). */
  readonly order: number;
}

export interface TrailStep {
  readonly container: number;
  readonly kind: 'seq' | 'par';
  readonly index: number;
}

export interface Seq {
  readonly kind: 'seq';
  readonly items: readonly (ExpandedStage | Par)[];
}

export interface Par {
  readonly kind: 'par';
  readonly decl: Parallel;
  readonly file: OttoFile;
  readonly branches: readonly Seq[];
}

export interface ExpandProblem {
  readonly file: OttoFile;
  readonly problem: EvalProblem;
}

/** Where a value is evaluated: the file, the loop bindings and the blueprint in effect. */
export interface EvalSite {
  readonly file: OttoFile;
  readonly bindings: readonly Binding[];
  readonly blueprint: BlueprintScope | undefined;
}

export interface Expansion {
  readonly root: Seq;
  /** Stages by full path and by name, for `from` references. */
  readonly index: { readonly byPath: ReadonlyMap<string, readonly ExpandedStage[]>; readonly byName: ReadonlyMap<string, readonly ExpandedStage[]> };
  /** Evaluates a value at a site (with `env.X` from an environment); problems join `problems`. */
  readonly evaluate: (v: Value, site: EvalSite, environment?: string) => Maybe;
  readonly stages: readonly ExpandedStage[];
  readonly problems: readonly ExpandProblem[];
  /** `from 'bp'` entries that named no blueprint (the checker reports them). */
  readonly environments: ReadonlyMap<string, { decl: EnvironmentDecl; file: OttoFile }>;
}

export function pathOf(stage: ExpandedStage): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let s: ExpandedStage | undefined = stage; s; s = s.parent) out.unshift(s.name);
  return out;
}

/** The path as text, or undefined when a segment is unknown. */
export function pathText(stage: ExpandedStage): string | undefined {
  return stage.path;
}

export function expand(program: Program, context: ExpandContext): Expansion {
  return new Expander(program, context).run();
}

interface Frame {
  readonly file: OttoFile;
  readonly parent: ExpandedStage | undefined;
  readonly bindings: readonly Binding[];
  readonly blueprint: BlueprintScope | undefined;
  readonly trail: readonly TrailStep[];
  /** Counts unnamed stages under the same parent, for stage-N names. */
  readonly unnamed: { n: number };
}

class Expander {
  private readonly stages: ExpandedStage[] = [];
  private readonly problems: ExpandProblem[] = [];
  private readonly environments = new Map<string, { decl: EnvironmentDecl; file: OttoFile }>();
  private containerIds = 0;
  private readonly unnamedByParent = new Map<ExpandedStage | undefined, { n: number }>();

  constructor(
    private readonly program: Program,
    private readonly context: ExpandContext,
  ) {}

  run(): Expansion {
    for (const file of this.program.files) {
      for (const item of file.items) {
        if (item.kind !== 'environments') continue;
        for (const env of item.environments) {
          if (!this.environments.has(env.name.name)) this.environments.set(env.name.name, { decl: env, file });
        }
      }
    }
    const main = this.program.main;
    const top = main.items.find((i): i is Pipeline | Blueprint => i.kind === 'pipeline' || i.kind === 'blueprint');
    const frame: Frame = { file: main, parent: undefined, bindings: [], blueprint: undefined, trail: [], unnamed: this.counter(undefined) };
    const root = top ? this.sequence(this.topNodes(top, frame), frame) : { kind: 'seq' as const, items: [] };
    const byPath = new Map<string, ExpandedStage[]>();
    const byName = new Map<string, ExpandedStage[]>();
    for (const st of this.stages) {
      if (st.path !== undefined) byPath.set(st.path, [...(byPath.get(st.path) ?? []), st]);
      if (st.name !== undefined) byName.set(st.name, [...(byName.get(st.name) ?? []), st]);
    }
    return {
      root,
      index: { byPath, byName },
      stages: this.stages,
      problems: this.problems,
      environments: this.environments,
      evaluate: (v, site, environment) => this.evaluate(v, site, environment),
    };
  }

  private counter(parent: ExpandedStage | undefined): { n: number } {
    let c = this.unnamedByParent.get(parent);
    if (!c) {
      c = { n: 0 };
      this.unnamedByParent.set(parent, c);
    }
    return c;
  }

  /** The nodes of a pipeline or blueprint body, with `from 'bp'` spliced in as (node, frame) pairs. */
  private topNodes(top: Pipeline | Blueprint, frame: Frame): Array<[Node, Frame]> {
    const out: Array<[Node, Frame]> = [];
    for (const item of top.items) {
      if (item.kind === 'stages') for (const n of item.items) out.push([n, frame]);
      else if (item.kind === 'stage' || item.kind === 'parallel' || item.kind === 'each' || item.kind === 'steps') out.push([item, frame]);
      else if (item.kind === 'from-blueprint') {
        const unit = this.findBlueprint(frame.file, item.target);
        if (!unit) continue;
        const vars = this.blueprintVars(unit, item.vars, frame);
        const bpFrame: Frame = { ...frame, file: unit.file, blueprint: { unit, vars } };
        out.push(...this.topNodes(unit.decl, bpFrame));
      }
    }
    return out;
  }

  /** A blueprint's vars: the value given in `from … { }`, else the default, else unknown. */
  private blueprintVars(unit: BlueprintUnit, given: readonly Setting[] | undefined, frame: Frame): Map<string, Maybe> {
    const vars = new Map<string, Maybe>();
    for (const item of unit.decl.items) {
      if (item.kind !== 'vars') continue;
      for (const v of item.vars) {
        const g = given?.find((s) => s.name.name === v.name.name);
        const def = v.props.find((p) => p.name.name === 'default');
        if (g) vars.set(v.name.name, this.evaluate(g.value, frame, undefined));
        else if (def) vars.set(v.name.name, this.evaluate(def.value, { file: unit.file, bindings: [], blueprint: undefined }, undefined));
        else vars.set(v.name.name, UNKNOWN);
      }
    }
    return vars;
  }

  findBlueprint(file: OttoFile, target: StringLit): BlueprintUnit | undefined {
    const name = literal(target);
    if (name === undefined) return undefined;
    const units = this.program.blueprintsByFile.get(file.source.path) ?? [];
    return units.find((u) => u.names.includes(name));
  }

  private sequence(nodes: Array<[Node, Frame]>, frame: Frame): Seq {
    const id = ++this.containerIds;
    const items: (ExpandedStage | Par)[] = [];
    const add = (node: Node, f: Frame): void => {
      for (const copy of this.unroll(node, f)) {
        // In a sequence, the copies of a multi-node each body are spliced in order.
        if (copy.node.kind === 'stages') {
          for (const n of copy.node.items) add(n, copy.frame);
          continue;
        }
        // concat, not a spread: an array of its own size (src/lang/fit.ts).
        const trail = frame.trail.concat({ container: id, kind: 'seq' as const, index: items.length });
        items.push(this.node(copy.node, { ...copy.frame, trail }));
      }
    };
    for (const [node, f] of nodes) add(node, f);
    return { kind: 'seq', items };
  }

  /** Each node, or the copies an `each` (nested any deep) expands to, with their bindings. */
  private unroll(node: Node, frame: Frame): Array<{ node: Exclude<Node, Each> | StagesBlock; frame: Frame }> {
    if (node.kind !== 'each') return [{ node, frame }];
    const values = this.eachValues(node, frame);
    const out: Array<{ node: Exclude<Node, Each> | StagesBlock; frame: Frame }> = [];
    for (const value of values) {
      const bindings: Binding[] = [...frame.bindings, { name: 'it', value, isIt: true }];
      if (node.as) bindings.push({ name: node.as.name, value, isIt: false });
      const f = { ...frame, bindings };
      // Each copy of the body is one sequence (one branch inside a parallel).
      if (node.items.length === 1 && node.items[0]?.kind !== 'stages') {
        out.push(...this.unroll(node.items[0] as Node, f));
      } else {
        const seq: StagesBlock = { kind: 'stages', items: node.items.flatMap((i) => (i.kind === 'stages' ? i.items : [i])), span: node.span };
        out.push({ node: seq, frame: f });
      }
    }
    return out;
  }

  private eachValues(node: Each, frame: Frame): Maybe[] {
    const out: Maybe[] = [];
    for (const v of node.values) {
      const x = this.evaluate(v, frame, undefined);
      if (x === UNKNOWN) return [UNKNOWN];
      if (Array.isArray(x)) out.push(...(x as PlanValue[]));
      else out.push(x as PlanValue);
    }
    return out;
  }

  private node(node: Exclude<Node, Each>, frame: Frame): ExpandedStage | Par {
    return node.kind === 'parallel' ? this.parallel(node, frame) : this.stage(node, frame);
  }

  private parallel(node: Parallel, frame: Frame): Par {
    const id = ++this.containerIds;
    const branches: Seq[] = [];
    for (const item of node.items) {
      if (item.kind === 'setting') continue;
      const copies = item.kind === 'stages' ? [{ node: item as Exclude<Node, Each> | StagesBlock, frame }] : this.unroll(item, frame);
      for (const copy of copies) {
        const trail = [...frame.trail, { container: id, kind: 'par' as const, index: branches.length }];
        const f = { ...copy.frame, trail };
        const nodes: Node[] = copy.node.kind === 'stages' ? [...copy.node.items] : [copy.node];
        branches.push(this.sequence(nodes.map((n) => [n, f]), f));
      }
    }
    return { kind: 'par', decl: node, file: frame.file, branches };
  }

  private stage(decl: Stage | StepsBlock, frame: Frame): ExpandedStage {
    let name: string | undefined;
    let nameSpan: Span = decl.kind === 'stage' ? { start: decl.span.start, end: decl.span.start + 5 } : { start: decl.span.start, end: decl.span.start + 5 };
    let explicitName = false;
    if (decl.kind === 'stage') {
      const setting = decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === 'name');
      const nameValue: Value | undefined = decl.label ?? setting?.value;
      if (nameValue) {
        explicitName = true;
        nameSpan = nameValue.span;
        const x = this.evaluate(nameValue, frame, undefined);
        name = x === UNKNOWN ? undefined : typeof x === 'string' ? x : Array.isArray(x) ? undefined : String(x);
      }
    }
    const unnamed = frame.unnamed;
    if (!explicitName) name = `stage-${++unnamed.n}`;
    const stage: {
      -readonly [K in keyof ExpandedStage]: ExpandedStage[K];
    } = {
      kind: 'stage',
      decl,
      file: frame.file,
      name,
      path: name === undefined || (frame.parent && frame.parent.path === undefined) ? undefined : frame.parent ? `${frame.parent.path as string}/${name}` : name,
      nameSpan,
      explicitName,
      parent: frame.parent,
      bindings: frame.bindings,
      blueprint: frame.blueprint,
      children: { kind: 'seq', items: [] },
      trail: frame.trail,
      order: this.stages.length,
    };
    this.stages.push(stage);
    if (decl.kind === 'stage') {
      const nested: Node[] = [];
      for (const item of decl.items) {
        if (item.kind === 'stage' || item.kind === 'parallel' || item.kind === 'each') nested.push(item);
        else if (item.kind === 'stages') nested.push(...item.items);
      }
      if (nested.length) {
        const inner: Frame = { ...frame, parent: stage, unnamed: this.counter(stage), trail: [...frame.trail, { container: ++this.containerIds, kind: 'seq', index: 0 }] };
        stage.children = this.sequence(nested.map((n) => [n, inner]), inner);
      }
    }
    return stage;
  }

  /** Evaluates a value in a frame (and, for `env.X`, a stage's environment). */
  evaluate(v: Value, frame: EvalSite, environment: string | undefined): Maybe {
    // Literals need no scope: the common case, kept cheap.
    if (v.kind === 'number' || v.kind === 'bool') return v.value;
    if (v.kind === 'string' && v.segments.length === 1 && v.segments[0]?.kind === 'text') return v.segments[0].text;
    const ev = new Evaluator(this.scopeFor(frame, environment));
    const x = ev.value(v);
    for (const p of ev.problems) {
      const help = p.kind === 'unknown-name' ? this.nameHelp(p.node as RefExpr, frame, environment) : p.help;
      this.problems.push({ file: frame.file, problem: help === undefined ? p : { ...p, help } });
    }
    return x;
  }

  /** Says which names are known where an unknown one was used. */
  private nameHelp(ref: RefExpr, frame: EvalSite, environment: string | undefined): string {
    const path = ref.path.map((p) => p.name);
    const head = path[0];
    if (head === 'vars' && frame.blueprint) {
      const declared = [...frame.blueprint.vars.keys()];
      return declared.length ? `the blueprint declares vars ${declared.map((d) => `'${d}'`).join(', ')}` : 'the blueprint declares no vars; add one in vars { }';
    }
    if (head === 'env') {
      if (!environment) return 'env.NAME reads a setting of the environment the stage deploys to; add environment -> NAME to the stage';
      const env = this.environments.get(environment);
      const names = env ? env.decl.items.flatMap((i) => (i.kind === 'env-settings' ? i.settings.map((s) => s.name.name) : [])) : [];
      return names.length ? `environment '${environment}' has settings ${names.map((n) => `'${n}'`).join(', ')}` : `environment '${environment}' has no settings { }`;
    }
    if (head === 'run') return "run has 'branch', 'tag', 'event', 'sha' and 'project'";
    if (path.length === 1 && head === 'it') return "'it' is the value of an enclosing each(…)";
    const loopNames = [...new Set(frame.bindings.map((b) => b.name))];
    const known = [...loopNames, 'vars.NAME', 'run.branch', 'run.sha', 'branch', 'tag', 'event'];
    const near = path.length === 1 ? closest(path[0] as string, [...loopNames, 'branch', 'tag', 'event']) : undefined;
    if (near) return `did you mean '${near}'?`;
    if (path.length === 1 && /^[A-Z_][A-Z0-9_]*$/.test(head ?? '')) {
      return `'${head}' looks like a shell variable: write it in a single-quoted string, which reaches the shell untouched`;
    }
    return `known here: ${known.join(', ')}`;
  }

  scopeFor(frame: EvalSite, environment: string | undefined): Scope {
    return makeScope(this.context, frame.bindings, frame.blueprint, environment ? this.environments.get(environment) : undefined, (v, f) => this.evaluate(v, f, undefined));
  }
}

/** Names known at plan time in one place of the pipeline. */
export function makeScope(
  context: ExpandContext,
  bindings: readonly Binding[],
  blueprint: BlueprintScope | undefined,
  environment: { decl: EnvironmentDecl; file: OttoFile } | undefined,
  evaluateIn: (v: Value, site: EvalSite) => Maybe,
): Scope {
  return {
    changedFiles: context.changedFiles,
    lookup(path: readonly string[], _node: RefExpr): Maybe | undefined {
      const [head, second, ...rest] = path;
      if (head === undefined) return undefined;
      if (path.length === 1) {
        for (let i = bindings.length - 1; i >= 0; i--) {
          const b = bindings[i] as Binding;
          if (b.name === head) return b.value;
        }
        if (head === 'branch' || head === 'tag' || head === 'event') return contextValue(context, head);
        return undefined;
      }
      if (rest.length > 0 || second === undefined) return undefined;
      if (head === 'vars') {
        if (blueprint) return blueprint.vars.has(second) ? blueprint.vars.get(second) : undefined;
        if (context.vars === undefined) return UNKNOWN;
        // Like an unset tag, a var nobody passed is '' (explain shows it as not set).
        return context.vars[second] ?? '';
      }
      if (head === 'run') {
        if (second === 'branch' || second === 'tag' || second === 'event' || second === 'sha' || second === 'project') {
          return contextValue(context, second);
        }
        return undefined;
      }
      if (head === 'env') {
        if (!environment) return undefined;
        for (const item of environment.decl.items) {
          if (item.kind !== 'env-settings') continue;
          const s = item.settings.find((x) => x.name.name === second);
          if (s) return evaluateIn(s.value, { bindings: [], blueprint: undefined, file: environment.file });
        }
        return undefined;
      }
      return undefined;
    },
  };
}

function contextValue(context: ExpandContext, key: 'branch' | 'tag' | 'event' | 'sha' | 'project'): Maybe {
  if (context.event === undefined && context.branch === undefined && context.sha === undefined) return UNKNOWN;
  // An unset value (no tag on a branch build) equals ''.
  return context[key] ?? '';
}

export type { Ident };
