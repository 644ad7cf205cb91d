// Reads what a stage declares — settings, runtime, caches, gates, environment — following `from`.

import {
  findStages,
  literal,
  parseDuration,
  pathText,
  toText,
  UNKNOWN,
  type Block,
  type Cache,
  type EvalSite,
  type ExpandedStage,
  type Expansion,
  type Gates,
  type Maybe,
  type Runtime,
  type Setting,
  type Stage,
  type Step,
  type Value,
} from '../lang/index.js';
import type { PlanCacheSave, PlanGate, PlanRuntime } from '../protocol/plan.js';
import type { Condition } from '../lang/index.js';

const DEFAULT_STAGE_TIMEOUT = 3_600_000;
const DEFAULT_WAIT_TIMEOUT = 86_400_000;

export function siteOf(stage: ExpandedStage): EvalSite {
  return { file: stage.file, bindings: stage.bindings, blueprint: stage.blueprint };
}

/** Reads one stage's declarations with the expansion's evaluator. */
export class StageFacts {
  private readonly runtimeCache = new Map<ExpandedStage, { runtime: PlanRuntime; workspaceFrom: string | null }>();

  constructor(private readonly expansion: Expansion) {}

  environment(stage: ExpandedStage): string | null {
    if (stage.decl.kind !== 'stage') return null;
    const e = stage.decl.items.find((i) => i.kind === 'environment');
    return e && e.kind === 'environment' ? e.name.name : null;
  }

  value(stage: ExpandedStage, v: Value): Maybe {
    return this.expansion.evaluate(v, siteOf(stage), this.environment(stage) ?? undefined);
  }

  text(stage: ExpandedStage, v: Value): string {
    const x = this.value(stage, v);
    return x === UNKNOWN ? '' : toText(x);
  }

  setting(stage: ExpandedStage, name: string): Maybe | undefined {
    if (stage.decl.kind !== 'stage') return undefined;
    const s = stage.decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
    return s ? this.value(stage, s.value) : undefined;
  }

  timeoutMs(stage: ExpandedStage): number {
    const t = this.setting(stage, 'timeout');
    return (typeof t === 'string' ? parseDuration(t) : undefined) ?? DEFAULT_STAGE_TIMEOUT;
  }

  strings(x: Maybe | undefined): string[] {
    if (x === undefined || x === UNKNOWN) return [];
    if (Array.isArray(x)) return (x as Maybe[]).map((i) => (i === UNKNOWN ? '' : toText(i)));
    return [toText(x)];
  }

  /** The stage a `from 'X'` names (the checker has made sure there is exactly one). */
  from(target: { kind: 'string' } & Value): ExpandedStage | undefined {
    const name = target.kind === 'string' ? literal(target) : undefined;
    if (name === undefined) return undefined;
    const found = findStages(this.expansion, name);
    return found.length === 1 ? found[0] : undefined;
  }

  runtime(stage: ExpandedStage, seen = new Set<ExpandedStage>()): { runtime: PlanRuntime; workspaceFrom: string | null } {
    const cached = this.runtimeCache.get(stage);
    if (cached) return cached;
    let result: { runtime: PlanRuntime; workspaceFrom: string | null } = { runtime: { kind: 'local' }, workspaceFrom: null };
    const block = stage.decl.kind === 'stage' ? stage.decl.items.find((i): i is Runtime => i.kind === 'runtime') : undefined;
    const item = block?.items[0];
    if (item?.kind === 'from') {
      const target = this.from(item.target);
      if (target && !seen.has(target)) {
        seen.add(stage);
        result = { runtime: this.runtime(target, seen).runtime, workspaceFrom: pathText(target) ?? null };
      }
    } else if (item?.kind === 'block') {
      result = { runtime: this.runtimeBlock(stage, item), workspaceFrom: null };
    }
    this.runtimeCache.set(stage, result);
    return result;
  }

  private runtimeBlock(stage: ExpandedStage, block: Block): PlanRuntime {
    const get = (name: string): Maybe | undefined => {
      const s = block.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
      return s ? this.value(stage, s.value) : undefined;
    };
    const str = (name: string, dflt = ''): string => {
      const x = get(name);
      return x === undefined || x === UNKNOWN ? dflt : toText(x);
    };
    switch (block.name.name) {
      case 'sandbox':
        return { kind: 'sandbox', network: get('network') !== false };
      case 'docker':
        return { kind: 'docker', image: str('image'), args: this.strings(get('args')) };
      case 'computer':
        return { kind: 'computer', label: str('label') };
      case 'kubernetes':
        return { kind: 'kubernetes', image: str('image'), namespace: str('namespace', 'default') };
      case 'microvm':
        return { kind: 'microvm', image: str('image') };
      default:
        return { kind: 'local' };
    }
  }

  /** Caches this stage saves (its own declarations and those inherited with `cache { from }`). */
  cacheSaves(stage: ExpandedStage, seen = new Set<ExpandedStage>()): PlanCacheSave[] {
    const out: PlanCacheSave[] = [];
    const block = stage.decl.kind === 'stage' ? stage.decl.items.find((i): i is Cache => i.kind === 'cache') : undefined;
    if (!block) return out;
    seen.add(stage);
    for (const item of block.items) {
      if (item.kind === 'from') {
        const target = this.from(item.target);
        if (target && !seen.has(target)) out.push(...this.cacheSaves(target, seen));
      } else if (item.kind === 'setting') {
        out.push({ name: item.name.name, paths: this.strings(this.value(stage, item.value)), keyFiles: [], when: 'success' });
      } else if (item.kind === 'block') {
        const get = (name: string): Maybe | undefined => {
          const s = item.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === name);
          return s ? this.value(stage, s.value) : undefined;
        };
        out.push({
          name: item.name.name,
          paths: this.strings(get('paths')),
          keyFiles: this.strings(get('key')),
          when: get('save') === 'always' ? 'always' : 'success',
        });
      }
    }
    // A later declaration of the same name wins.
    const byName = new Map(out.map((c) => [c.name, c]));
    return [...byName.values()];
  }

  cacheRestores(stage: ExpandedStage): string[] {
    const block = stage.decl.kind === 'stage' ? stage.decl.items.find((i): i is Cache => i.kind === 'cache') : undefined;
    if (!block) return [];
    return [...new Set(block.items.flatMap((i) => (i.kind === 'cache-use' ? i.names.map((n) => n.name) : [])))];
  }

  /** Enter conditions, enter waits and exit waits, with `gates { from }` inherited first. */
  gates(stage: ExpandedStage, seen = new Set<ExpandedStage>()): { conditions: Array<{ stage: ExpandedStage; condition: Condition }>; enter: PlanGate[]; exit: PlanGate[] } {
    const out = { conditions: [] as Array<{ stage: ExpandedStage; condition: Condition }>, enter: [] as PlanGate[], exit: [] as PlanGate[] };
    const block = stage.decl.kind === 'stage' ? stage.decl.items.find((i): i is Gates => i.kind === 'gates') : undefined;
    if (!block) return out;
    seen.add(stage);
    for (const item of block.items) {
      if (item.kind !== 'from') continue;
      const target = this.from(item.target);
      if (!target || seen.has(target)) continue;
      const inherited = this.gates(target, seen);
      out.conditions.push(...inherited.conditions);
      out.enter.push(...inherited.enter);
      out.exit.push(...inherited.exit);
    }
    for (const item of block.items) {
      if (item.kind !== 'gate-phase') continue;
      for (const g of item.items) {
        if (g.kind === 'gate-condition') out.conditions.push({ stage, condition: g.condition });
        else {
          const gate = this.gate(stage, g);
          if (gate) (item.phase === 'enter' ? out.enter : out.exit).push(gate);
        }
      }
    }
    return out;
  }

  private gate(stage: ExpandedStage, g: Block | Step): PlanGate | undefined {
    const args = new Map<string, Maybe>();
    if (g.kind === 'block') {
      for (const s of g.items) if (s.kind === 'setting') args.set(s.name.name, this.value(stage, s.value));
    } else {
      const positional = ['message', 'description', 'url'];
      g.args.forEach((a, i) => {
        if (a.kind === 'kwarg') args.set(a.name.name, this.value(stage, a.value));
        else if (i === 0) args.set(g.name.name === 'input' ? positional[0]! : g.name.name === 'webhook' ? positional[1]! : positional[2]!, this.value(stage, a.value));
      });
    }
    const str = (k: string, d = ''): string => {
      const x = args.get(k);
      return x === undefined || x === UNKNOWN ? d : toText(x);
    };
    const dur = (k: string, d: number): number => parseDuration(str(k)) ?? d;
    switch (g.name.name) {
      case 'input':
        return { kind: 'input', message: str('message'), approvers: this.strings(args.get('approvers')), timeoutMs: dur('timeout', DEFAULT_WAIT_TIMEOUT) };
      case 'webhook':
        return { kind: 'webhook', description: str('description', 'an external system'), timeoutMs: dur('timeout', DEFAULT_WAIT_TIMEOUT) };
      case 'poll': {
        const expect = args.get('expect');
        return {
          kind: 'poll',
          url: str('url'),
          expect: typeof expect === 'number' ? expect : 200,
          contains: str('contains'),
          intervalMs: dur('interval', 10_000),
          timeoutMs: dur('timeout', 300_000),
        };
      }
    }
    return undefined;
  }

  stageDecl(stage: ExpandedStage): Stage | undefined {
    return stage.decl.kind === 'stage' ? stage.decl : undefined;
  }
}
