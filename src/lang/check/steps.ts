// Checks step invocations: known symbol, right place, arguments, block.

import type { Block, OttoFile, Step, Value } from '../ast.js';
import type { EvalSite } from '../expand.js';
import type { ParamSpec, StepPlace, StepSpec } from '../schema/types.js';
import { didYouMean, listChoices } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import { checkValue, checkWorkspacePaths } from './values.js';
import { checkSettings } from './settings.js';
import { POLL_BLOCK, WEBHOOK_BLOCK, INPUT_BLOCK } from '../schema/settings.js';
import { parseDuration } from '../duration.js';
import { UNKNOWN } from '../evaluate.js';

const PLACE_WORDS: Record<StepPlace, string> = {
  steps: 'steps { }',
  gate: 'gates { enter { } } or exit { }',
  notify: 'notify { success { } failure { } complete { } }',
};

const WEEK_MS = 7 * 86_400_000;

export function checkSteps(ctx: CheckContext, site: EvalSite, steps: readonly Step[], place: StepPlace, environment?: string): void {
  let after: Step | undefined;
  for (const step of steps) {
    if (after) {
      ctx.report(site.file, 'W0105', step.span, `'${step.name.name}' never runs: the 'error' step before it always fails the stage`, 'remove the step, or move it before error');
      after = undefined;
    }
    checkStep(ctx, site, step, place, environment);
    if (step.name.name === 'error' && ctx.program.steps.get('error')?.library === undefined) after = step;
  }
}

export function checkStep(ctx: CheckContext, site: EvalSite, step: Step, place: StepPlace, environment?: string): void {
  const file = site.file;
  const name = step.name.name;
  const spec = ctx.program.steps.get(name);
  if (!spec) {
    const here = [...ctx.program.steps.values()].filter((s) => s.places.includes(place)).map((s) => s.name);
    ctx.report(file, 'E0401', step.name.span, `unknown step '${name}'`, didYouMean(name, here.length ? here : [...ctx.program.steps.keys()], 'steps here are'));
    return;
  }
  if (!spec.places.includes(place)) {
    const there = spec.places.map((p) => PLACE_WORDS[p]).join(' or ');
    const allowed = [...ctx.program.steps.values()].filter((s) => s.places.includes(place)).map((s) => s.name);
    ctx.report(
      file,
      'E0406',
      step.name.span,
      `'${name}' cannot stand in ${PLACE_WORDS[place]}`,
      `'${name}' belongs in ${there}; ${place === 'steps' ? 'steps' : place === 'gate' ? 'a gate' : 'notify'} takes ${listChoices(allowed)}`,
    );
    return;
  }
  checkArguments(ctx, site, step, spec, environment);
  if (spec.block === 'required' && step.body === undefined) {
    ctx.report(file, 'E0405', step.span, `'${name}' needs a block of steps`, `write ${spec.example.split('\n')[0]} … }`);
  }
  if (spec.block === 'none' && step.body !== undefined) {
    ctx.report(file, 'E0405', step.span, `'${name}' does not take a block`, `write ${spec.example.split('\n')[0]}`);
  }
  if (step.body !== undefined) {
    if (step.body.length === 0) ctx.report(file, 'E0501', step.span, `the block of '${name}' holds no step`, 'add a step or remove the block');
    checkSteps(ctx, site, step.body, place, environment);
  }
}

function checkArguments(ctx: CheckContext, site: EvalSite, step: Step, spec: StepSpec, environment: string | undefined): void {
  const file = site.file;
  const given = new Map<string, Value>();
  let positional = 0;
  let sawKwarg = false;
  for (const arg of step.args) {
    if (arg.kind === 'positional') {
      if (sawKwarg) {
        ctx.report(file, 'E0207', arg.span, `a positional argument of '${spec.name}' follows a keyword argument`, 'put positional arguments first, or name this one');
        continue;
      }
      const param = spec.params[positional];
      positional++;
      if (param === undefined || positional > spec.positional) {
        ctx.report(
          file,
          'E0404',
          arg.span,
          `'${spec.name}' takes ${spec.positional === 0 ? 'no positional arguments' : spec.positional === 1 ? 'one positional argument' : `${spec.positional} positional arguments`}`,
          spec.params.length > spec.positional ? `name the others: ${spec.params.slice(spec.positional).map((p) => `${p.name}: …`).join(', ')}` : 'remove it',
        );
        continue;
      }
      given.set(param.name, arg.value);
      checkParam(ctx, site, spec, param, arg.value, environment);
    } else {
      sawKwarg = true;
      const pname = arg.name.name;
      const param = spec.params.find((p) => p.name === pname);
      if (!param) {
        ctx.report(file, 'E0403', arg.name.span, `'${spec.name}' has no argument '${pname}'`, didYouMean(pname, spec.params.map((p) => p.name), `'${spec.name}' takes`));
        continue;
      }
      if (given.has(pname)) {
        ctx.report(file, 'E0303', arg.name.span, `'${pname}' is given twice to '${spec.name}'`, 'remove one');
        continue;
      }
      given.set(pname, arg.value);
      checkParam(ctx, site, spec, param, arg.value, environment);
    }
  }
  for (const p of spec.params) {
    if (p.required && !given.has(p.name)) {
      ctx.report(file, 'E0402', step.name.span, `'${spec.name}' needs ${p.name === spec.params[0]?.name && spec.positional > 0 ? `its ${p.name}` : `'${p.name}:'`} (${p.description})`, `for example: ${spec.example.split('\n')[0]}`);
    }
  }
}

function checkParam(ctx: CheckContext, site: EvalSite, spec: StepSpec, param: ParamSpec, node: Value, environment: string | undefined): void {
  const value = ctx.evaluate(node, site, environment);
  checkValue(ctx, site.file, param, node, value, `argument '${param.name}' of '${spec.name}'`);
  if (param.type === 'duration' && param.name === 'timeout' && spec.places.includes('gate') && value !== UNKNOWN && typeof value === 'string') {
    const ms = parseDuration(value);
    if (ms !== undefined && ms > WEEK_MS) {
      ctx.report(site.file, 'W0112', node.span, `'${spec.name}' waits up to ${value}, longer than a week`, 'check the unit; waits over a week are usually a mistake');
    }
  }
  const paths: Record<string, string> = { archive: 'artifacts', unarchive: 'into', dir: 'path' };
  if (paths[spec.name] === param.name && spec.library === undefined) checkWorkspacePaths(ctx, site.file, node, value, `${spec.name} ${param.name}`);
  if (spec.name === 'sh' && param.name === 'script' && node.kind === 'string' && (node.quote === 'double' || node.quote === 'triple-double')) {
    const hasShellVar = node.segments.some((s) => s.kind === 'text' && /\$[A-Za-z_]/.test(s.text));
    if (hasShellVar) {
      ctx.report(site.file, 'W0108', node.span, 'a shell variable in a double-quoted script', "use single quotes for shell text ('echo $HOME'); double quotes are for ${…} plan-time values");
    }
  }
}

/** A gate written as a block: webhook { … }, poll { … }, input { … }. */
export function checkGateBlock(ctx: CheckContext, site: EvalSite, block: Block): void {
  const spec = block.name.name === 'webhook' ? WEBHOOK_BLOCK : block.name.name === 'poll' ? POLL_BLOCK : block.name.name === 'input' ? INPUT_BLOCK : undefined;
  if (!spec) {
    ctx.report(site.file, 'E0406', block.name.span, `'${block.name.name}' is not a gate`, didYouMean(block.name.name, ['input', 'webhook', 'poll'], 'gates are'));
    return;
  }
  for (const item of block.items) {
    if (item.kind === 'block') ctx.report(site.file, 'E0202', item.name.span, `unknown block '${item.name.name}' in '${block.name.name}'`, `'${block.name.name}' holds only settings`);
  }
  const settings = block.items.filter((i) => i.kind === 'setting');
  checkSettings(ctx, site, block.name.name, settings, spec, { ownerSpan: block.name.span });
  const timeout = settings.find((s) => s.name.name === 'timeout');
  if (timeout) {
    const v = ctx.evaluate(timeout.value, site);
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms !== undefined && ms > WEEK_MS) {
      ctx.report(site.file, 'W0112', timeout.value.span, `'${block.name.name}' waits up to ${v as string}, longer than a week`, 'check the unit; waits over a week are usually a mistake');
    }
  }
}

export type { OttoFile };
