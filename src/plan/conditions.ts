// Plan-time evaluation of conditions, with a reason a person understands when one is false.

import type { Condition, Value } from '../lang/index.js';
import { globMatch, toText, UNKNOWN, type Maybe, type SourceFile } from '../lang/index.js';

export interface ConditionResult {
  readonly value: boolean;
  /** Why it is false: "branch is 'feat/x', needs branch == 'main'"; '' when true. */
  readonly reason: string;
}

interface Eval {
  readonly value: boolean;
  /** Facts about the values the outcome rests on: "branch is 'main'". */
  readonly facts: readonly string[];
  /** The part of the condition that failed (for and-chains), as source text. */
  readonly failed: string;
}

/** A value as a condition sees it: unknown and unset are '', strings 'false' and '0' are false. */
export function truthy(v: Maybe): boolean {
  if (v === UNKNOWN) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'string') return v !== '' && v !== 'false' && v !== '0';
  if (typeof v === 'number') return v !== 0;
  return v === true;
}

export function evaluateCondition(cond: Condition, source: SourceFile, evaluate: (v: Value) => Maybe): ConditionResult {
  const text = (c: { span: { start: number; end: number } }): string => source.text.slice(c.span.start, c.span.end);
  const describe = (v: Value, x: Maybe): string => {
    const name = text(v);
    if (x === UNKNOWN || x === '') return v.kind === 'ref' && v.path.length === 1 && v.path[0]?.name === 'tag' ? 'there is no tag' : `${name} is not set`;
    if (typeof x === 'string') return `${name} is '${x}'`;
    return `${name} is ${Array.isArray(x) ? `[${toText(x)}]` : String(x)}`;
  };
  const walk = (c: Condition): Eval => {
    switch (c.kind) {
      case 'paren':
        return walk(c.inner);
      case 'not': {
        const inner = walk(c.operand);
        return { value: !inner.value, facts: inner.facts, failed: text(c) };
      }
      case 'and': {
        const l = walk(c.left);
        if (!l.value) return l;
        const r = walk(c.right);
        return r.value ? { value: true, facts: [...l.facts, ...r.facts], failed: '' } : r;
      }
      case 'or': {
        const l = walk(c.left);
        if (l.value) return l;
        const r = walk(c.right);
        return r.value ? r : { value: false, facts: [...l.facts, ...r.facts], failed: text(c) };
      }
      case 'truthy': {
        const x = c.operand.kind === 'bool' ? c.operand.value : evaluate(c.operand);
        return { value: truthy(x), facts: c.operand.kind === 'bool' ? [] : [describe(c.operand, x)], failed: text(c) };
      }
      case 'compare': {
        const lx = evaluate(c.left);
        const rx = evaluate(c.right);
        const l = lx === UNKNOWN ? '' : toText(lx);
        const r = rx === UNKNOWN ? '' : toText(rx);
        const value = c.op === '==' ? l === r : c.op === '!=' ? l !== r : globMatch(r, l);
        return { value, facts: [describe(c.left, lx)], failed: text(c) };
      }
    }
  };
  const e = walk(cond);
  if (e.value) return { value: true, reason: '' };
  const facts = [...new Set(e.facts)];
  return { value: false, reason: `${facts.length ? `${facts.join(', ')}, ` : ''}needs ${e.failed || text(cond)}` };
}
