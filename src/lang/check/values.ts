// Type checks of setting and argument values against their parameter specs.

import type { Value } from '../ast.js';
import { validateCron } from '../cron.js';
import { durationHelp, parseDuration } from '../duration.js';
import { UNKNOWN, typeName, type Maybe, type PlanValue } from '../evaluate.js';
import type { ParamSpec, ParamType } from '../schema/types.js';
import { listChoices } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import type { OttoFile } from '../ast.js';

type StaticType = 'string' | 'number' | 'boolean' | 'array' | 'unknown';

/** The type of a value from its syntax alone, when evaluation cannot tell. */
export function staticType(v: Value): StaticType {
  switch (v.kind) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'array':
      return 'array';
    case 'call':
      return v.callee.name === 'changed' ? 'array' : 'string';
    case 'ref':
      return 'unknown';
  }
}

const DESCRIBE: Record<ParamType, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  strings: 'an array of strings',
  'string-or-strings': 'a string or an array of strings',
  duration: "a duration string such as '10m'",
  cron: "a cron string such as '0 3 * * *'",
  any: 'a value',
};

export function describeType(t: ParamType): string {
  return DESCRIBE[t];
}

/**
 * Checks one value against a parameter; `what` names it in messages
 * ("setting 'timeout'", "argument 'branch' of git").
 */
export function checkValue(ctx: CheckContext, file: OttoFile, param: ParamSpec, node: Value, value: Maybe, what: string): void {
  const t = value === UNKNOWN ? staticType(node) : typeName(value);
  const wrong = (): void => {
    ctx.report(file, 'E0302', node.span, `${what} must be ${DESCRIBE[param.type]}, found ${article(t)}`, typeHelp(param.type, node));
  };
  if (t === 'unknown') return;
  switch (param.type) {
    case 'any':
      return;
    case 'string':
      if (t !== 'string') return wrong();
      break;
    case 'number':
    case 'integer':
      if (t !== 'number') return wrong();
      if (value !== UNKNOWN && param.type === 'integer' && !Number.isInteger(value)) {
        ctx.report(file, 'E0302', node.span, `${what} must be a whole number, found ${String(value)}`);
        return;
      }
      if (value !== UNKNOWN && param.min !== undefined && (value as number) < param.min) {
        ctx.report(file, 'E0309', node.span, `${what} must be at least ${param.min}, found ${String(value)}`);
      }
      return;
    case 'boolean':
      if (t !== 'boolean') return wrong();
      return;
    case 'array':
      if (t !== 'array') return wrong();
      return;
    case 'strings':
      if (t !== 'array') return wrong();
      checkStringItems(ctx, file, node, value, what);
      return;
    case 'string-or-strings':
      if (t === 'array') checkStringItems(ctx, file, node, value, what);
      else if (t !== 'string') return wrong();
      return;
    case 'duration':
      if (t !== 'string') return wrong();
      if (value !== UNKNOWN && parseDuration(value as string) === undefined) {
        ctx.report(file, 'E0304', node.span, `'${String(value)}' is not a duration (${what})`, durationHelp(value as string));
      }
      return;
    case 'cron': {
      const items: Array<[Value, Maybe]> =
        t === 'array' && node.kind === 'array'
          ? node.items.map((n, i) => [n, value === UNKNOWN ? UNKNOWN : ((value as PlanValue[])[i] as PlanValue)])
          : [[node, value]];
      if (t !== 'string' && t !== 'array') return wrong();
      for (const [n, v] of items) {
        if (v === UNKNOWN) continue;
        if (typeof v !== 'string') {
          ctx.report(file, 'E0302', n.span, `${what} must be a cron string, found ${article(typeName(v))}`);
          continue;
        }
        const problem = validateCron(v);
        if (problem) ctx.report(file, 'E0305', n.span, `invalid cron expression '${v}': ${problem}`, "for example '0 3 * * *' (03:00 every day) or '*/15 * * * 1-5'");
      }
      return;
    }
  }
  if (param.choices && value !== UNKNOWN && typeof value === 'string' && !param.choices.includes(value)) {
    ctx.report(file, 'E0309', node.span, `${what} must be ${listChoices(param.choices)}, found '${value}'`);
  }
}

function checkStringItems(ctx: CheckContext, file: OttoFile, node: Value, value: Maybe, what: string): void {
  if (node.kind !== 'array') return;
  node.items.forEach((item, i) => {
    const v = value === UNKNOWN ? UNKNOWN : (value as PlanValue[])[i];
    const t = v === undefined || v === UNKNOWN ? staticType(item) : typeName(v);
    if (t !== 'string' && t !== 'unknown') {
      ctx.report(file, 'E0302', item.span, `each element of ${what} must be a string, found ${article(t)}`, `quote it: '${file.source.text.slice(item.span.start, item.span.end)}'`);
    }
  });
}

function article(t: StaticType): string {
  if (t === 'array') return 'an array';
  if (t === 'unknown') return 'a value';
  if (t === 'boolean') return 'a boolean';
  return `a ${t}`;
}

function typeHelp(t: ParamType, node: Value): string | undefined {
  if (t === 'strings' && node.kind === 'string') return `put it in an array: [${node.raw}]`;
  if ((t === 'string' || t === 'duration') && node.kind === 'number') return `quote it: '${node.raw}${t === 'duration' ? 's' : ''}'`;
  if (t === 'boolean' && node.kind === 'string') return 'write true or false without quotes';
  if ((t === 'number' || t === 'integer') && node.kind === 'string') return 'write the number without quotes';
  return undefined;
}

/** Paths a step reads or writes in the workspace: relative, and never leaving it with `..`. */
export function checkWorkspacePaths(ctx: CheckContext, file: OttoFile, node: Value, value: Maybe, what: string): void {
  const pairs: Array<[Value, Maybe]> =
    node.kind === 'array' ? node.items.map((n, i) => [n, value === UNKNOWN ? UNKNOWN : ((value as PlanValue[])[i] as PlanValue)]) : [[node, value]];
  for (const [n, v] of pairs) {
    if (typeof v !== 'string') continue;
    if (v.startsWith('/')) {
      ctx.report(file, 'E0309', n.span, `${what} '${v}' is an absolute path`, 'paths are relative to the stage workspace; a step cannot read or write outside it');
    } else if (v.split('/').includes('..')) {
      ctx.report(file, 'E0309', n.span, `${what} '${v}' leaves the workspace with '..'`, 'paths are relative to the stage workspace and stay inside it');
    }
  }
}
