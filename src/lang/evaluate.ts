// Plan-time evaluation of values: strings with ${…}, references and the built-in functions.

import type { CallExpr, RefExpr, StringLit, Value } from './ast.js';
import { globToRegExp } from './glob.js';
import { closest } from '../util/suggest.js';

/** A value known at plan time. */
export type PlanValue = string | number | boolean | readonly PlanValue[];

/** Stands for a value that exists but is not known yet (when checking without a trigger context). */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Maybe = PlanValue | typeof UNKNOWN;

export interface EvalProblem {
  readonly kind: 'unknown-name' | 'unknown-function' | 'bad-arguments' | 'not-scalar';
  readonly node: Value;
  readonly message: string;
  readonly help?: string;
}

/** What names mean where a value is evaluated. */
export interface Scope {
  /** Resolves a reference path; undefined when the name does not exist. */
  lookup(path: readonly string[], node: RefExpr): Maybe | undefined;
  /** Files changed against the base, or undefined when not known (check without a context). */
  readonly changedFiles?: readonly string[] | undefined;
}

export const FUNCTIONS = ['concat', 'changed', 'lower', 'upper', 'join', 'basename'] as const;

export class Evaluator {
  readonly problems: EvalProblem[] = [];

  constructor(private readonly scope: Scope) {}

  value(v: Value): Maybe {
    switch (v.kind) {
      case 'string':
        return this.string(v);
      case 'number':
      case 'bool':
        return v.value;
      case 'array': {
        const items: PlanValue[] = [];
        let unknown = false;
        for (const item of v.items) {
          const x = this.value(item);
          if (x === UNKNOWN) unknown = true;
          else items.push(x);
        }
        return unknown ? UNKNOWN : items;
      }
      case 'ref':
        return this.ref(v);
      case 'call':
        return this.call(v);
    }
  }

  string(s: StringLit): Maybe {
    let out = '';
    for (const seg of s.segments) {
      if (seg.kind === 'text') {
        out += seg.text;
        continue;
      }
      const x = this.value(seg.expr);
      if (x === UNKNOWN) return UNKNOWN;
      out += toText(x);
    }
    return out;
  }

  private ref(r: RefExpr): Maybe {
    const path = r.path.map((p) => p.name);
    if (path.length === 0) return UNKNOWN;
    const found = this.scope.lookup(path, r);
    if (found === undefined) {
      this.problems.push({ kind: 'unknown-name', node: r, message: `unknown name '${path.join('.')}'` });
      return UNKNOWN;
    }
    return found;
  }

  private call(c: CallExpr): Maybe {
    const name = c.callee.name;
    const args = c.args.map((a) => this.value(a));
    const bad = (message: string): Maybe => {
      this.problems.push({ kind: 'bad-arguments', node: c, message });
      return UNKNOWN;
    };
    switch (name) {
      case 'concat':
        if (args.some((a) => a === UNKNOWN)) return UNKNOWN;
        return (args as PlanValue[]).map(toText).join('');
      case 'lower':
      case 'upper':
      case 'basename': {
        if (args.length !== 1) return bad(`${name}() takes one argument, got ${args.length}`);
        const a = args[0] as Maybe;
        if (a === UNKNOWN) return UNKNOWN;
        const s = toText(a);
        if (name === 'basename') return s.replace(/\/+$/, '').split('/').pop() ?? '';
        return name === 'lower' ? s.toLowerCase() : s.toUpperCase();
      }
      case 'join': {
        if (args.length < 1 || args.length > 2) return bad(`join() takes an array and an optional separator, got ${args.length} arguments`);
        const [arr, sep] = args as [Maybe, Maybe | undefined];
        if (arr === UNKNOWN || sep === UNKNOWN) return UNKNOWN;
        if (!Array.isArray(arr)) return bad('join() needs an array as its first argument');
        return (arr as PlanValue[]).map(toText).join(sep === undefined ? ',' : toText(sep));
      }
      case 'changed': {
        if (args.length !== 1) return bad(`changed() takes one glob pattern, got ${args.length} arguments`);
        const pattern = args[0] as Maybe;
        if (pattern === UNKNOWN) return UNKNOWN;
        if (typeof pattern !== 'string') return bad('changed() needs a glob pattern string');
        if (this.scope.changedFiles === undefined) return UNKNOWN;
        return changedMatches(this.scope.changedFiles, pattern);
      }
    }
    const near = closest(name, FUNCTIONS);
    this.problems.push({
      kind: 'unknown-function',
      node: c,
      message: `unknown function '${name}'`,
      help: near ? `did you mean '${near}'?` : `plan-time functions are ${FUNCTIONS.join(', ')}`,
    });
    return UNKNOWN;
  }
}

/**
 * The changed paths matching a glob, cut to the glob's depth: `charts/*`
 * yields the chart directories that hold a change, each once, sorted.
 */
export function changedMatches(files: readonly string[], pattern: string): string[] {
  const re = globToRegExp(pattern);
  // With `**` the glob spans any depth: match whole paths rather than cutting them.
  if (pattern.includes('**')) return [...new Set(files.filter((f) => re.test(f)))].sort();
  const depth = pattern.split('/').length;
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let d = Math.min(depth, parts.length); d >= 1; d--) {
      const prefix = parts.slice(0, d).join('/');
      if (re.test(prefix)) {
        out.add(prefix);
        break;
      }
    }
  }
  return [...out].sort();
}

/** How a value reads inside a string. */
export function toText(v: PlanValue): string {
  if (Array.isArray(v)) return (v as PlanValue[]).map(toText).join(',');
  return String(v);
}

export function typeName(v: PlanValue): 'string' | 'number' | 'boolean' | 'array' {
  if (Array.isArray(v)) return 'array';
  return typeof v as 'string' | 'number' | 'boolean';
}
