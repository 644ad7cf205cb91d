// Checks conditions in `when` and enter gates: names, comparisons, and conditions that never hold.

import type { Condition, Value } from '../ast.js';
import type { EvalSite } from '../expand.js';
import { UNKNOWN } from '../evaluate.js';
import { closest } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import { staticType } from './values.js';

export const EVENTS = ['push', 'pull_request', 'tag', 'cron', 'manual', 'api'] as const;

export function checkCondition(ctx: CheckContext, site: EvalSite, cond: Condition, environment?: string): void {
  walk(ctx, site, cond, environment);
  const facts = conjunctionFacts(cond);
  for (const [name, values] of facts) {
    if (values.size > 1) {
      ctx.report(
        site.file,
        'W0102',
        cond.span,
        `this condition is never true: ${name} cannot equal both ${[...values].map((v) => `'${v}'`).join(' and ')}`,
        `did you mean ${name} == '${[...values][0]}' || ${name} == '${[...values][1]}'?`,
      );
    }
  }
}

function walk(ctx: CheckContext, site: EvalSite, cond: Condition, environment: string | undefined): void {
  switch (cond.kind) {
    case 'or':
    case 'and':
      walk(ctx, site, cond.left, environment);
      walk(ctx, site, cond.right, environment);
      return;
    case 'not':
      walk(ctx, site, cond.operand, environment);
      return;
    case 'paren':
      walk(ctx, site, cond.inner, environment);
      return;
    case 'truthy':
      if (cond.operand.kind !== 'bool') ctx.evaluate(cond.operand, site, environment);
      return;
    case 'compare': {
      ctx.evaluate(cond.left, site, environment);
      const right = ctx.evaluate(cond.right, site, environment);
      const t = right === UNKNOWN ? staticType(cond.right) : Array.isArray(right) ? 'array' : typeof right;
      if (t === 'array') {
        ctx.report(site.file, 'E0302', cond.right.span, `'${cond.op}' compares with one value, found an array`, "to allow several values join comparisons with ||, or use a glob: branch =~ 'release/*'");
        return;
      }
      if (cond.op === '=~' && t !== 'string' && t !== 'unknown') {
        ctx.report(site.file, 'E0302', cond.right.span, "'=~' matches a glob string", "write the pattern in quotes: branch =~ 'release/*'");
      }
      const left = refName(cond.left);
      if (left === 'event' && typeof right === 'string') {
        if (!(EVENTS as readonly string[]).includes(right) && !(cond.op === '=~' && /[*?]/.test(right))) {
          const near = closest(right, EVENTS);
          ctx.report(
            site.file,
            'W0101',
            cond.right.span,
            `no trigger produces the event '${right}'`,
            near ? `did you mean '${near}'?` : `events are ${EVENTS.map((e) => `'${e}'`).join(', ')}`,
          );
        }
      }
      return;
    }
  }
}

function refName(v: Value): string | undefined {
  if (v.kind !== 'ref') return undefined;
  const p = v.path.map((x) => x.name);
  if (p.length === 1 && (p[0] === 'branch' || p[0] === 'tag' || p[0] === 'event')) return p[0];
  if (p.length === 2 && p[0] === 'run') return p[1];
  return undefined;
}

/** For a chain of `&&`, the literal values each context name is required to equal. */
function conjunctionFacts(cond: Condition): Map<string, Set<string>> {
  const facts = new Map<string, Set<string>>();
  const visit = (c: Condition): void => {
    if (c.kind === 'and') {
      visit(c.left);
      visit(c.right);
    } else if (c.kind === 'paren') {
      visit(c.inner);
    } else if (c.kind === 'compare' && c.op === '==' && c.right.kind === 'string' && c.right.segments.every((s) => s.kind === 'text')) {
      const name = refName(c.left);
      if (!name) return;
      const value = c.right.segments.map((s) => (s.kind === 'text' ? s.text : '')).join('');
      const set = facts.get(name) ?? new Set<string>();
      set.add(value);
      facts.set(name, set);
    }
  };
  visit(cond);
  return facts;
}
