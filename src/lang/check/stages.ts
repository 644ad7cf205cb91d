// Checks every expanded stage: settings, runtime, caches, steps, gates, when, notify, structure.

import type { Block, Cache, Gates, Notify, OttoFile, Runtime, Setting, Stage, StageItem, When, EnvironmentRef } from '../ast.js';
import type { EvalSite, ExpandedStage, Par, Seq } from '../expand.js';
import { UNKNOWN } from '../evaluate.js';
import { CACHE_LONG, PARALLEL, RUNTIMES, STAGE } from '../schema/settings.js';
import type { ParamSpec } from '../schema/types.js';
import { didYouMean } from '../../util/suggest.js';
import { checkCondition } from './conditions.js';
import type { CheckContext } from './context.js';
import { checkSettings } from './settings.js';
import { checkGateBlock, checkStep, checkSteps } from './steps.js';
import { checkValue, checkWorkspacePaths } from './values.js';
import { resolveStageRef } from './references.js';

const ONCE = ['steps', 'runtime', 'cache', 'gates', 'when', 'notify', 'environment'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CACHE_SHORT: ParamSpec = { name: 'paths', type: 'string-or-strings', description: 'paths to cache' };

export function checkStages(ctx: CheckContext): void {
  const caches = declaredCaches(ctx);
  for (const stage of ctx.expansion.stages) checkStage(ctx, stage, caches);
  checkParallels(ctx, ctx.expansion.root, new Set());
  for (const file of ctx.program.files) checkEachValues(ctx, file);
  checkDuplicateNames(ctx);
}

function siteOf(stage: ExpandedStage): EvalSite {
  return { file: stage.file, bindings: stage.bindings, blueprint: stage.blueprint };
}

function checkStage(ctx: CheckContext, stage: ExpandedStage, caches: Set<string>): void {
  const site = siteOf(stage);
  const file = stage.file;
  const decl = stage.decl;
  if (decl.kind === 'steps') {
    if (decl.steps.length === 0) ctx.report(file, 'E0501', decl.span, 'this steps block holds no step', "add a step such as sh 'make', or remove the block");
    checkSteps(ctx, site, decl.steps, 'steps');
    return;
  }
  const environment = decl.items.find((i): i is EnvironmentRef => i.kind === 'environment')?.name.name;
  const envKnown = environment !== undefined && ctx.expansion.environments.has(environment);
  const seen = new Map<string, StageItem>();
  for (const item of decl.items) {
    const key = item.kind;
    if ((ONCE as readonly string[]).includes(key)) {
      const first = seen.get(key);
      if (first) {
        const line = file.source.position(first.span.start).line;
        ctx.report(file, 'E0303', item.span.start === item.span.end ? item.span : { start: item.span.start, end: item.span.start + key.length }, `a stage holds one '${key}' block`, `merge it with the one on line ${line}`);
      } else seen.set(key, item);
    }
  }
  const settings = decl.items.filter((i): i is Setting => i.kind === 'setting');
  checkSettings(ctx, site, 'stage', settings, STAGE, { skip: ['name'], environment: envKnown ? environment : undefined });
  checkName(ctx, stage, settings);
  checkCredentials(ctx, file, settings);
  for (const item of decl.items) {
    switch (item.kind) {
      case 'steps':
        if (item.steps.length === 0) ctx.report(file, 'E0501', { start: item.span.start, end: item.span.start + 5 }, 'this steps block holds no step', "add a step such as sh 'make', or remove the block");
        checkSteps(ctx, site, item.steps, 'steps', envKnown ? environment : undefined);
        break;
      case 'runtime':
        checkRuntime(ctx, stage, item);
        break;
      case 'cache':
        checkCache(ctx, stage, item, caches);
        break;
      case 'gates':
        checkGates(ctx, stage, item, envKnown ? environment : undefined);
        break;
      case 'when':
        checkWhen(ctx, site, item, envKnown ? environment : undefined);
        break;
      case 'notify':
        checkNotify(ctx, site, item, envKnown ? environment : undefined);
        break;
      case 'environment':
        if (!ctx.expansion.environments.has(item.name.name)) {
          const known = [...ctx.expansion.environments.keys()];
          ctx.report(
            file,
            'E0603',
            item.name.span,
            `unknown environment '${item.name.name}'`,
            known.length ? didYouMean(item.name.name, known, 'declared environments are') : `declare it: environments { ${item.name.name} { } }`,
          );
        }
        break;
    }
  }
  if (environment !== undefined && settings.some((s) => s.name.name === 'retry' && !(s.value.kind === 'number' && s.value.value === 0))) {
    const retry = settings.find((s) => s.name.name === 'retry') as Setting;
    ctx.report(file, 'W0107', retry.span, `stage retries a deployment to '${environment}'`, 'make the deployment idempotent, or remove retry');
  }
  const retry = settings.find((s) => s.name.name === 'retry');
  if (retry?.value.kind === 'number' && retry.value.value > 5) {
    ctx.report(file, 'W0111', retry.value.span, `retry = ${retry.value.raw} repeats a failing stage ${retry.value.raw} more times`, 'fix the flaky step instead, or keep retry at 5 or less');
  }
  checkHasWork(ctx, stage, decl);
}

function checkName(ctx: CheckContext, stage: ExpandedStage, settings: readonly Setting[]): void {
  const decl = stage.decl as Stage;
  const nameSetting = settings.find((s) => s.name.name === 'name');
  if (decl.label && nameSetting) {
    ctx.report(stage.file, 'E0303', nameSetting.name.span, "the stage is named twice: in stage('…') and by name =", 'keep one of them');
  }
  const nameNode = decl.label ?? nameSetting?.value;
  if (!nameNode) return;
  const value = ctx.evaluate(nameNode, siteOf(stage));
  // A number is a fine name (each(1, 2, 3) { stage { name = it } }); booleans and arrays are not.
  if (typeof value !== 'number') checkValue(ctx, stage.file, { name: 'name', type: 'string', description: '' }, nameNode, value, "the stage's name");
  if (typeof value === 'string') {
    if (value.trim() === '') ctx.report(stage.file, 'E0307', nameNode.span, 'a stage name cannot be empty', 'give the stage a name, or leave it unnamed');
    else if (value.includes('/')) ctx.report(stage.file, 'E0307', nameNode.span, `the stage name '${value}' contains '/'`, "'/' separates the segments of a stage path; use another character, or basename(…) for a path from changed()");
  }
}

function checkCredentials(ctx: CheckContext, file: OttoFile, settings: readonly Setting[]): void {
  const cred = settings.find((s) => s.name.name === 'credentials');
  if (!cred || cred.value.kind !== 'array') return;
  const seen = new Set<string>();
  for (const item of cred.value.items) {
    if (item.kind !== 'string' || item.segments.some((s) => s.kind !== 'text')) continue;
    const name = item.segments.map((s) => (s.kind === 'text' ? s.text : '')).join('');
    if (!ENV_NAME.test(name)) {
      ctx.report(file, 'E0306', item.span, `credential name '${name}' is not a valid environment variable name`, `use letters, digits and underscores, such as '${name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1').toUpperCase()}'`);
    }
    if (seen.has(name)) ctx.report(file, 'W0104', item.span, `credential '${name}' is listed twice`, 'remove one');
    seen.add(name);
  }
}

function checkHasWork(ctx: CheckContext, stage: ExpandedStage, decl: Stage): void {
  const hasSteps = decl.items.some((i) => i.kind === 'steps');
  const hasNested = decl.items.some((i) => i.kind === 'stage' || i.kind === 'parallel' || i.kind === 'each' || i.kind === 'stages');
  const hasWait = decl.items.some(
    (i) => i.kind === 'gates' && i.items.some((g) => g.kind === 'from' || (g.kind === 'gate-phase' && g.items.some((x) => x.kind === 'step' || x.kind === 'block'))),
  );
  if (!hasSteps && !hasNested && !hasWait) {
    ctx.report(
      stage.file,
      'E0502',
      stage.nameSpan,
      `stage ${stage.name !== undefined ? `'${stage.name}' ` : ''}has nothing to do`,
      "add steps { … }, nested stages, or a gate such as gates { enter { input 'Go?' } }",
    );
  }
}

function checkRuntime(ctx: CheckContext, stage: ExpandedStage, runtime: Runtime): void {
  const file = stage.file;
  if (runtime.items.length === 0) {
    ctx.report(file, 'E0506', { start: runtime.span.start, end: runtime.span.start + 7 }, 'runtime { } is empty', 'name a runtime such as local { } or docker { image = \'node:20\' }, or remove the block');
    return;
  }
  runtime.items.forEach((item, i) => {
    if (i > 0) {
      ctx.report(file, 'E0505', item.kind === 'block' ? item.name.span : item.span, 'a runtime block holds one runtime', 'remove all but one');
      return;
    }
    if (item.kind === 'from') {
      resolveStageRef(ctx, stage, item.target, 'runtime');
      return;
    }
    checkRuntimeBlock(ctx, stage, item);
  });
}

function checkRuntimeBlock(ctx: CheckContext, stage: ExpandedStage, block: Block): void {
  const spec = RUNTIMES.find((r) => r.name === block.name.name);
  if (!spec) {
    ctx.report(stage.file, 'E0504', block.name.span, `unknown runtime '${block.name.name}'`, didYouMean(block.name.name, RUNTIMES.map((r) => r.name), 'runtimes are'));
    return;
  }
  for (const item of block.items) {
    if (item.kind === 'block') ctx.report(stage.file, 'E0202', item.name.span, `unknown block '${item.name.name}' in runtime '${spec.name}'`, `'${spec.name}' holds only settings`);
  }
  checkSettings(ctx, siteOf(stage), spec.name, block.items.filter((i): i is Setting => i.kind === 'setting'), spec, { ownerSpan: block.name.span });
}

function checkCache(ctx: CheckContext, stage: ExpandedStage, cache: Cache, declared: Set<string>): void {
  const file = stage.file;
  const site = siteOf(stage);
  if (cache.items.length === 0) {
    ctx.report(file, 'E0506', { start: cache.span.start, end: cache.span.start + 5 }, 'cache { } is empty', 'declare a cache (gems = [\'vendor/\']), restore one (use gems), or remove the block');
  }
  const names = new Map<string, number>();
  for (const item of cache.items) {
    switch (item.kind) {
      case 'setting': {
        if (names.has(item.name.name)) ctx.report(file, 'E0303', item.name.span, `cache '${item.name.name}' is declared twice`, 'remove one');
        names.set(item.name.name, item.span.start);
        const v = ctx.evaluate(item.value, site);
        checkValue(ctx, file, CACHE_SHORT, item.value, v, `cache '${item.name.name}'`);
        checkWorkspacePaths(ctx, file, item.value, v, `cache '${item.name.name}' path`);
        break;
      }
      case 'block': {
        if (names.has(item.name.name)) ctx.report(file, 'E0303', item.name.span, `cache '${item.name.name}' is declared twice`, 'remove one');
        names.set(item.name.name, item.span.start);
        for (const sub of item.items) {
          if (sub.kind === 'block') ctx.report(file, 'E0202', sub.name.span, `unknown block '${sub.name.name}' in cache '${item.name.name}'`, "a cache holds paths, key and save");
        }
        checkSettings(ctx, site, `cache ${item.name.name}`, item.items.filter((i): i is Setting => i.kind === 'setting'), CACHE_LONG, { ownerSpan: item.name.span });
        for (const sub of item.items) {
          if (sub.kind === 'setting' && (sub.name.name === 'paths' || sub.name.name === 'key')) {
            checkWorkspacePaths(ctx, file, sub.value, ctx.evaluate(sub.value, site), `cache '${item.name.name}' ${sub.name.name}`);
          }
        }
        break;
      }
      case 'cache-use':
        for (const n of item.names) {
          if (!declared.has(n.name)) {
            ctx.report(file, 'E0604', n.span, `no stage declares the cache '${n.name}'`, declared.size ? didYouMean(n.name, [...declared], 'declared caches are') : `declare it in a stage: cache { ${n.name} = ['path/'] }`);
          }
        }
        break;
      case 'from':
        resolveStageRef(ctx, stage, item.target, 'cache');
        break;
    }
  }
}

function checkGates(ctx: CheckContext, stage: ExpandedStage, gates: Gates, environment: string | undefined): void {
  const file = stage.file;
  const site = siteOf(stage);
  if (gates.items.length === 0) {
    ctx.report(file, 'E0506', { start: gates.span.start, end: gates.span.start + 5 }, 'gates { } is empty', 'add enter { … } or exit { … }, or remove the block');
  }
  const phases = new Set<string>();
  for (const item of gates.items) {
    if (item.kind === 'from') {
      resolveStageRef(ctx, stage, item.target, 'gates');
      continue;
    }
    if (phases.has(item.phase)) ctx.report(file, 'E0303', { start: item.span.start, end: item.span.start + item.phase.length }, `gates hold one '${item.phase}' block`, 'merge the two');
    phases.add(item.phase);
    if (item.items.length === 0) ctx.report(file, 'E0506', { start: item.span.start, end: item.span.start + item.phase.length }, `${item.phase} { } is empty`, 'add a condition or a wait, or remove the block');
    for (const g of item.items) {
      if (g.kind === 'gate-condition') {
        if (item.phase === 'exit') {
          ctx.report(file, 'E0406', g.span, 'a condition cannot stand in an exit gate', 'conditions are decided before a stage starts: move it to enter { } or when { }');
          continue;
        }
        checkCondition(ctx, site, g.condition, environment);
      } else if (g.kind === 'step') {
        checkStep(ctx, site, g, 'gate', environment);
      } else {
        checkGateBlock(ctx, site, g);
      }
    }
  }
}

function checkWhen(ctx: CheckContext, site: EvalSite, when: When, environment: string | undefined): void {
  if (when.conditions.length === 0) {
    ctx.report(site.file, 'E0506', { start: when.span.start, end: when.span.start + 4 }, 'when { } is empty', "add a condition such as branch == 'main', or remove the block");
  }
  for (const c of when.conditions) checkCondition(ctx, site, c, environment);
}

function checkNotify(ctx: CheckContext, site: EvalSite, notify: Notify, environment: string | undefined): void {
  if (notify.items.length === 0) {
    ctx.report(site.file, 'E0506', { start: notify.span.start, end: notify.span.start + 6 }, 'notify { } is empty', 'add success { … }, failure { … } or complete { … }, or remove the block');
  }
  const seen = new Set<string>();
  for (const phase of notify.items) {
    if (seen.has(phase.on)) ctx.report(site.file, 'E0303', { start: phase.span.start, end: phase.span.start + phase.on.length }, `notify holds one '${phase.on}' block`, 'merge the two');
    seen.add(phase.on);
    if (phase.steps.length === 0) ctx.report(site.file, 'E0501', { start: phase.span.start, end: phase.span.start + phase.on.length }, `${phase.on} { } holds no step`, "add a notification such as slack 'Shipped', or remove the block");
    checkSteps(ctx, site, phase.steps, 'notify', environment);
  }
}

/** Every cache name declared by any stage (and inherited with cache { from }). */
function declaredCaches(ctx: CheckContext): Set<string> {
  const out = new Set<string>();
  for (const file of ctx.program.files) {
    visitNodes(file, (s) => {
      if (s.kind !== 'stage') return;
      for (const item of s.items) {
        if (item.kind !== 'cache') continue;
        for (const c of item.items) if (c.kind === 'setting' || c.kind === 'block') out.add(c.name.name);
      }
    });
  }
  return out;
}

/** `each` with no values, or with a single plain value, expands to nothing useful. */
function checkEachValues(ctx: CheckContext, file: OttoFile): void {
  visitNodes(file, (n) => {
    if (n.kind !== 'each') return;
    const kw = { start: n.span.start, end: n.span.start + 4 };
    if (n.values.length === 0) {
      ctx.report(file, 'E0506', kw, 'each() has no values to expand', "list values: each('linux', 'macos') { … }");
    } else if (n.values.length === 1 && (n.values[0]?.kind === 'string' || n.values[0]?.kind === 'number' || n.values[0]?.kind === 'bool' || (n.values[0]?.kind === 'array' && n.values[0].items.length === 1))) {
      ctx.report(file, 'W0110', kw, 'each over a single value makes one copy', 'add more values, or write the stage without each');
    }
  });
}

function visitNodes(file: OttoFile, fn: (n: StageItem) => void): void {
  const visit = (n: StageItem): void => {
    fn(n);
    if (n.kind === 'stage') n.items.forEach(visit);
    else if (n.kind === 'parallel') n.items.forEach((i) => i.kind !== 'setting' && visit(i));
    else if (n.kind === 'each' || n.kind === 'stages') n.items.forEach(visit);
  };
  for (const top of file.items) {
    if (top.kind === 'pipeline' || top.kind === 'blueprint') {
      for (const i of top.items) if (i.kind === 'stage' || i.kind === 'parallel' || i.kind === 'each' || i.kind === 'stages' || i.kind === 'steps') visit(i);
    }
  }
}

function checkParallels(ctx: CheckContext, seq: Seq, done: Set<unknown>): void {
  for (const item of seq.items) {
    if (item.kind === 'stage') {
      checkParallels(ctx, item.children, done);
      continue;
    }
    checkParallel(ctx, item, done);
    for (const b of item.branches) checkParallels(ctx, b, done);
  }
}

function checkParallel(ctx: CheckContext, par: Par, done: Set<unknown>): void {
  if (done.has(par.decl)) return;
  done.add(par.decl);
  const settings = par.decl.items.filter((i): i is Setting => i.kind === 'setting');
  checkSettings(ctx, { file: par.file, bindings: [], blueprint: undefined }, 'parallel', settings, PARALLEL);
  const children = par.decl.items.filter((i) => i.kind !== 'setting');
  const expandsToMany = children.some((c) => c.kind === 'each');
  if (children.length === 0) {
    ctx.report(par.file, 'E0506', { start: par.decl.span.start, end: par.decl.span.start + 8 }, 'parallel { } is empty', 'add the stages to run at the same time, or remove the block');
  } else if (children.length === 1 && !expandsToMany) {
    ctx.report(par.file, 'W0106', { start: par.decl.span.start, end: par.decl.span.start + 8 }, 'parallel with one branch runs nothing in parallel', 'add another branch, or remove the parallel block around it');
  }
}

function checkDuplicateNames(ctx: CheckContext): void {
  const byParent = new Map<ExpandedStage | undefined, Map<string, ExpandedStage>>();
  for (const stage of ctx.expansion.stages) {
    if (stage.name === undefined) continue;
    let names = byParent.get(stage.parent);
    if (!names) {
      names = new Map();
      byParent.set(stage.parent, names);
    }
    const first = names.get(stage.name);
    if (!first) {
      names.set(stage.name, stage);
      continue;
    }
    const sameDecl = first.decl === stage.decl;
    const where = first.file === stage.file ? `line ${stage.file.source.position(first.nameSpan.start).line}` : first.file.source.path;
    ctx.report(
      stage.file,
      'E0503',
      stage.nameSpan,
      sameDecl ? `each(…) gives every copy of this stage the same name '${stage.name}'` : `another stage is already named '${stage.name}' here (${where})`,
      sameDecl ? 'put the loop variable in the name: name = "Test ${it}"' : 'rename one of them; sibling stages need distinct names',
    );
  }
}

export { UNKNOWN };
