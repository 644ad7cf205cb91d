// Checks of each file's top level: which blocks it holds, use, configure, environments, triggers, vars.

import type { Block, Blueprint, EnvironmentDecl, OttoFile, Pipeline, Setting, Triggers, Value, VarDecl, VarsBlock } from '../ast.js';
import { BLUEPRINT, CONFIGURE, ENVIRONMENT, PIPELINE, TRIGGERS, VAR_PROPS, VAR_TYPES } from '../schema/settings.js';
import { didYouMean } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import { topSite } from './context.js';
import { checkSettings } from './settings.js';
import { staticType } from './values.js';
import { literal } from '../program.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkTopLevel(ctx: CheckContext, file: OttoFile, isMain: boolean): void {
  const counts = new Map<string, number>();
  for (const item of file.items) {
    const key = item.kind;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const kw = { start: item.span.start, end: item.span.start + key.length };
    if (n > 1 && key !== 'step-sketch') {
      ctx.report(file, 'E0204', kw, `a file holds one '${key}' block; this is another`, key === 'pipeline' || key === 'blueprint' ? 'merge them, or move one to its own file' : 'merge the two blocks');
    }
    if (item.kind === 'step-sketch') {
      ctx.report(file, 'W0109', kw, "a 2019 'step { }' sketch declares no runnable step and is ignored", 'define steps with an otto-step.json in a step library (see docs/language.md#step-libraries)');
    }
  }
  const pipeline = file.items.find((i): i is Pipeline => i.kind === 'pipeline');
  const blueprint = file.items.find((i): i is Blueprint => i.kind === 'blueprint');
  if (pipeline && blueprint) {
    const second = pipeline.span.start > blueprint.span.start ? pipeline : blueprint;
    ctx.report(file, 'E0206', { start: second.span.start, end: second.span.start + second.kind.length }, 'a file is either a pipeline or a blueprint', 'move the blueprint to its own file and use it');
  }
  if (isMain && !pipeline && !blueprint) {
    const end = file.source.text.length;
    ctx.report(file, 'E0205', { start: 0, end: Math.min(end, firstLineEnd(file)) }, 'this file has no pipeline { } block', 'add one: pipeline { steps { sh \'make\' } }');
  }
  checkUse(ctx, file);
  for (const item of file.items) {
    switch (item.kind) {
      case 'configure':
        for (const block of item.blocks) checkConfigureBlock(ctx, file, block);
        break;
      case 'environments':
        checkEnvironments(ctx, file, item.environments);
        break;
      case 'pipeline':
        checkSettings(ctx, topSite(file), 'pipeline', item.items.filter((i): i is Setting => i.kind === 'setting'), PIPELINE);
        for (const i of item.items) if (i.kind === 'triggers') checkTriggers(ctx, file, i);
        break;
      case 'blueprint':
        checkSettings(ctx, topSite(file), 'blueprint', item.items.filter((i): i is Setting => i.kind === 'setting'), BLUEPRINT);
        for (const i of item.items) if (i.kind === 'vars') checkVars(ctx, file, i);
        break;
    }
  }
}

function firstLineEnd(file: OttoFile): number {
  const nl = file.source.text.indexOf('\n');
  return nl < 0 ? file.source.text.length : nl;
}

function checkUse(ctx: CheckContext, file: OttoFile): void {
  const aliases = new Map<string, number>();
  for (const item of file.items) {
    if (item.kind !== 'use') continue;
    for (const e of item.entries) {
      if (!e.alias) continue;
      const first = aliases.get(e.alias.name);
      if (first !== undefined) {
        ctx.report(file, 'E0612', e.alias.span, `two libraries are named '${e.alias.name}'`, `the first is on line ${file.source.position(first).line}; choose another name`);
      }
      aliases.set(e.alias.name, e.span.start);
    }
  }
}

function checkConfigureBlock(ctx: CheckContext, file: OttoFile, block: Block): void {
  const name = block.name.name;
  const spec = CONFIGURE.find((c) => c.name === name);
  if (spec) {
    for (const item of block.items) {
      if (item.kind === 'block') ctx.report(file, 'E0202', item.name.span, `unknown block '${item.name.name}' in configure '${name}'`, `'${name}' holds only settings`);
    }
    checkSettings(ctx, topSite(file), `configure ${name}`, block.items.filter((i): i is Setting => i.kind === 'setting'), spec);
    return;
  }
  const libStep = ctx.program.steps.get(name);
  const lib = ctx.program.libraries.find((l) => (l.entry.alias?.name ?? '') === name || l.dir.endsWith(`/${name}`));
  if (libStep?.library || lib) return;
  const known = [...CONFIGURE.map((c) => c.name), ...[...ctx.program.steps.values()].filter((s) => s.library).map((s) => s.name)];
  ctx.report(file, 'E0202', block.name.span, `configure '${name}' names nothing that can be configured`, didYouMean(name, known, 'configurable are'));
}

function checkEnvironments(ctx: CheckContext, file: OttoFile, envs: readonly EnvironmentDecl[]): void {
  const seen = new Map<string, number>();
  for (const env of envs) {
    const first = seen.get(env.name.name);
    if (first !== undefined) {
      ctx.report(file, 'E0303', env.name.span, `environment '${env.name.name}' is declared twice`, `the first is on line ${file.source.position(first).line}`);
    }
    seen.set(env.name.name, env.span.start);
    const settings = env.items.filter((i): i is Setting => i.kind === 'setting');
    checkSettings(ctx, topSite(file), `environment ${env.name.name}`, settings, ENVIRONMENT);
    const cred = settings.find((s) => s.name.name === 'credentials');
    if (cred?.value.kind === 'array') {
      for (const item of cred.value.items) {
        const n = item.kind === 'string' ? literal(item) : undefined;
        if (n !== undefined && !ENV_NAME.test(n)) ctx.report(file, 'E0306', item.span, `credential name '${n}' is not a valid environment variable name`, 'use letters, digits and underscores');
      }
    }
    const blocks = env.items.filter((i) => i.kind === 'env-settings');
    if (blocks.length > 1) ctx.report(file, 'E0303', { start: blocks[1]!.span.start, end: blocks[1]!.span.start + 8 }, `environment '${env.name.name}' holds one settings block`, 'merge the two');
    const names = new Set<string>();
    for (const b of blocks) {
      if (b.kind !== 'env-settings') continue;
      for (const s of b.settings) {
        if (!ENV_NAME.test(s.name.name)) {
          ctx.report(file, 'E0306', s.name.span, `'${s.name.name}' is not a valid environment variable name`, 'environment settings become variables: use letters, digits and underscores');
        }
        if (names.has(s.name.name)) ctx.report(file, 'E0303', s.name.span, `'${s.name.name}' is set twice in environment '${env.name.name}'`, 'remove one');
        names.add(s.name.name);
        const t = staticType(s.value);
        if (t === 'array') ctx.report(file, 'E0302', s.value.span, `environment setting '${s.name.name}' must be a string, number or boolean`, 'environment variables hold one value');
        ctx.evaluate(s.value, topSite(file));
      }
    }
  }
  // An environment nothing deploys to is probably a leftover.
  if (ctx.program.main === file) {
    const used = new Set<string>();
    for (const stage of ctx.expansion.stages) {
      if (stage.decl.kind !== 'stage') continue;
      for (const i of stage.decl.items) if (i.kind === 'environment') used.add(i.name.name);
    }
    for (const env of envs) {
      if (!used.has(env.name.name)) ctx.report(file, 'W0103', env.name.span, `no stage deploys to environment '${env.name.name}'`, `add environment -> ${env.name.name} to a stage, or remove it`);
    }
  }
}

function checkTriggers(ctx: CheckContext, file: OttoFile, triggers: Triggers): void {
  const site = topSite(file);
  checkSettings(ctx, site, 'triggers', triggers.items.filter((i): i is Setting => i.kind === 'setting'), TRIGGERS);
  const blocks = TRIGGERS.blocks ?? [];
  const seen = new Set<string>();
  for (const item of triggers.items) {
    if (item.kind !== 'block') continue;
    const spec = blocks.find((b) => b.name === item.name.name);
    if (!spec) {
      ctx.report(file, 'E0202', item.name.span, `unknown trigger '${item.name.name}'`, didYouMean(item.name.name, blocks.map((b) => b.name), 'triggers are'));
      continue;
    }
    if (seen.has(spec.name)) ctx.report(file, 'E0303', item.name.span, `trigger '${spec.name}' is declared twice`, 'merge the two');
    seen.add(spec.name);
    for (const sub of item.items) {
      if (sub.kind === 'block') ctx.report(file, 'E0202', sub.name.span, `unknown block '${sub.name.name}' in trigger '${spec.name}'`, `'${spec.name}' holds only settings`);
    }
    checkSettings(ctx, site, spec.name, item.items.filter((i): i is Setting => i.kind === 'setting'), spec);
  }
}

/** Blueprint var declarations: known properties, a known type, a default of that type. */
function checkVars(ctx: CheckContext, file: OttoFile, vars: VarsBlock): void {
  const seen = new Set<string>();
  for (const v of vars.vars) {
    if (seen.has(v.name.name)) ctx.report(file, 'E0303', v.name.span, `var '${v.name.name}' is declared twice`, 'remove one');
    seen.add(v.name.name);
    const props = new Set<string>();
    for (const p of v.props) {
      if (props.has(p.name.name)) ctx.report(file, 'E0303', p.name.span, `'${p.name.name}' is given twice for var '${v.name.name}'`, 'remove one');
      props.add(p.name.name);
      if (!(VAR_PROPS as readonly string[]).includes(p.name.name)) {
        ctx.report(file, 'E0701', p.name.span, `unknown property '${p.name.name}' of var '${v.name.name}'`, didYouMean(p.name.name, VAR_PROPS, 'a var has'));
      }
    }
    const type = varType(v);
    const typeProp = v.props.find((p) => p.name.name === 'type');
    if (typeProp && type === undefined) {
      ctx.report(file, 'E0701', typeProp.value.span, `var '${v.name.name}' has an unknown type`, `types are ${VAR_TYPES.join(', ')}`);
    }
    const def = v.props.find((p) => p.name.name === 'default');
    if (def && type) {
      const t = staticType(def.value);
      if (t !== 'unknown' && t !== type) {
        ctx.report(file, 'E0702', def.value.span, `the default of var '${v.name.name}' is ${t === 'array' ? 'an array' : `a ${t}`}, but its type is ${type}`, type === 'boolean' ? 'write true or false without quotes' : `give a ${type} default`);
      }
    }
    const desc = v.props.find((p) => p.name.name === 'description');
    if (desc && staticType(desc.value) !== 'string') ctx.report(file, 'E0302', desc.value.span, `the description of var '${v.name.name}' must be a string`);
  }
}

/** The declared type of a var: `type string` (a bare name) or `type 'string'`. */
export function varType(v: VarDecl): (typeof VAR_TYPES)[number] | undefined {
  const p = v.props.find((x) => x.name.name === 'type');
  if (!p) return v.props.some((x) => x.name.name === 'default') ? inferred(v) : 'string';
  const name = typeName(p.value);
  if (name === 'bool') return 'boolean';
  return (VAR_TYPES as readonly string[]).includes(name ?? '') ? (name as (typeof VAR_TYPES)[number]) : undefined;
}

function inferred(v: VarDecl): (typeof VAR_TYPES)[number] {
  const def = v.props.find((x) => x.name.name === 'default') as { value: Value };
  const t = staticType(def.value);
  return t === 'unknown' ? 'string' : t;
}

function typeName(v: Value): string | undefined {
  if (v.kind === 'ref' && v.path.length === 1) return v.path[0]?.name;
  if (v.kind === 'string') return literal(v);
  return undefined;
}

export type { Blueprint };
