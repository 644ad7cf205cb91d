// Values (strings, numbers, arrays, calls, references) and conditions.

import type {
  BoolLit,
  CallExpr,
  CompareOp,
  Condition,
  Ident,
  RefExpr,
  StringLit,
  StringSegment,
  Value,
} from '../ast.js';
import type { Token } from '../tokens.js';
import { Cursor, describe, listSource } from './cursor.js';
import { fit } from '../fit.js';

/** Tokens that can start a value. */
export function startsValue(c: Cursor, t: Token = c.peek): boolean {
  return t.kind === 'string' || t.kind === 'number' || t.kind === 'ident' || c.isPunct('[', t);
}

export function parseValue(c: Cursor, what = 'a value'): Value | undefined {
  const t = c.peek;
  if (t.kind === 'string') return parseString(c);
  if (t.kind === 'number') {
    c.next();
    return { kind: 'number', value: Number(t.text), raw: t.text, span: { start: t.start, end: t.end } };
  }
  if (t.kind === 'ident') {
    if (t.text === 'true' || t.text === 'false') {
      c.next();
      return { kind: 'bool', value: t.text === 'true', span: { start: t.start, end: t.end } };
    }
    if (c.isPunct('(', c.peekAt(1))) return parseCall(c);
    return parseRef(c);
  }
  if (c.isPunct('[')) return parseArray(c);
  c.report(
    'E0201',
    c.errorSpan(),
    `expected ${what}, found ${describe(t)}`,
    "a value is a 'string', a number, true or false, an [array], a call such as concat(a, b), or a name such as vars.x",
  );
  return undefined;
}

export function parseString(c: Cursor): StringLit {
  const t = c.next();
  const segments: StringSegment[] = [];
  for (const part of t.parts ?? []) {
    if (part.kind === 'text') {
      segments.push({ kind: 'text', text: part.text });
      continue;
    }
    const span = { start: part.start - 2, end: part.end + 1 };
    if (part.tokens.length === 0) continue; // reported by the lexer
    const eof: Token = { kind: 'eof', start: part.end, end: part.end, text: '', newlineBefore: false };
    const sub = new Cursor(listSource(part.tokens, eof), c.source, c.bag);
    const expr = parseValue(sub, 'a plan-time value inside ${…}');
    if (expr !== undefined && !sub.atEnd) {
      const extra = sub.peek;
      c.report(
        'E0201',
        { start: extra.start, end: part.end },
        `unexpected ${describe(extra)} inside \${…}`,
        'an interpolation holds one value, such as ${it}, ${vars.name} or ${concat(a, b)}',
      );
    }
    if (expr !== undefined) segments.push({ kind: 'interp', expr, span });
  }
  return { kind: 'string', quote: t.quote ?? 'single', raw: t.text, segments: fit(segments), span: { start: t.start, end: t.end } };
}

function parseRef(c: Cursor): RefExpr {
  const path: Ident[] = [c.ident()];
  while (c.isPunct('.') && c.isIdent(undefined, c.peekAt(1))) {
    c.next();
    path.push(c.ident());
  }
  if (c.isPunct('.')) {
    c.next();
    c.report('E0201', c.errorSpan(), `expected a name after '.', found ${describe(c.peek)}`);
  }
  const first = path[0] as Ident;
  const last = path[path.length - 1] as Ident;
  return { kind: 'ref', path: fit(path), span: { start: first.span.start, end: last.span.end } };
}

function parseCall(c: Cursor): CallExpr {
  const callee = c.ident();
  c.next(); // (
  const args: Value[] = [];
  while (!c.isPunct(')') && !c.atEnd && !c.isPunct('}')) {
    const v = parseValue(c, `an argument of ${callee.name}()`);
    if (v === undefined) {
      c.recover();
      break;
    }
    args.push(v);
    if (!c.eatPunct(',')) break;
  }
  const close = c.expectPunct(')', `to close the arguments of ${callee.name}(`);
  const end = close ? close.end : c.previous.end;
  return { kind: 'call', callee, args: fit(args), span: { start: callee.span.start, end } };
}

function parseArray(c: Cursor): Value {
  const open = c.next();
  const items: Value[] = [];
  while (!c.isPunct(']') && !c.atEnd) {
    if (c.isPunct('}')) break;
    const v = parseValue(c, 'an array element');
    if (v === undefined) {
      // Skip to the closing bracket so one bad element is one error.
      while (!c.atEnd && !c.isPunct(']') && !c.isPunct('}')) c.next();
      break;
    }
    items.push(v);
    if (!c.eatPunct(',')) break;
  }
  const close = c.expectPunct(']', `to close the array opened at ${pos(c, open.start)}`, 'separate elements with commas');
  if (!close) {
    while (!c.atEnd && !c.isPunct(']') && !c.isPunct('}') && !c.peek.newlineBefore) c.next();
    c.eatPunct(']');
  }
  return { kind: 'array', items, span: { start: open.start, end: close ? close.end : c.previous.end } };
}

function pos(c: Cursor, offset: number): string {
  const p = c.source.position(offset);
  return `line ${p.line}`;
}

// ---------------------------------------------------------------- conditions

export function startsCondition(c: Cursor): boolean {
  return c.isPunct('!') || c.isPunct('(') || c.peek.kind === 'ident';
}

export function parseCondition(c: Cursor): Condition | undefined {
  let left = parseAnd(c);
  if (left === undefined) return undefined;
  while (c.isPunct('||')) {
    c.next();
    const right = parseAnd(c);
    if (right === undefined) return undefined;
    left = { kind: 'or', left, right, span: { start: left.span.start, end: right.span.end } };
  }
  return left;
}

function parseAnd(c: Cursor): Condition | undefined {
  let left = parseNot(c);
  if (left === undefined) return undefined;
  while (c.isPunct('&&')) {
    c.next();
    const right = parseNot(c);
    if (right === undefined) return undefined;
    left = { kind: 'and', left, right, span: { start: left.span.start, end: right.span.end } };
  }
  return left;
}

function parseNot(c: Cursor): Condition | undefined {
  const t = c.peek;
  if (c.isPunct('!')) {
    c.next();
    const operand = parseNot(c);
    if (operand === undefined) return undefined;
    return { kind: 'not', operand, span: { start: t.start, end: operand.span.end } };
  }
  if (c.isPunct('(')) {
    c.next();
    const inner = parseCondition(c);
    if (inner === undefined) return undefined;
    const close = c.expectPunct(')', 'to close the parenthesised condition');
    return { kind: 'paren', inner, span: { start: t.start, end: close ? close.end : inner.span.end } };
  }
  if (t.kind === 'ident') {
    const operand = parseValue(c) as RefExpr | CallExpr | BoolLit;
    const op = c.peek;
    if (op.kind === 'punct' && (op.text === '==' || op.text === '!=' || op.text === '=~')) {
      c.next();
      const right = parseValue(c, `a value after '${op.text}'`);
      if (operand.kind === 'bool') {
        c.report('E0201', operand.span, `a comparison starts with a name, found ${operand.value}`, "write the name first: branch == 'main'");
        return undefined;
      }
      if (right === undefined) return undefined;
      return { kind: 'compare', op: op.text as CompareOp, left: operand, right, span: { start: operand.span.start, end: right.span.end } };
    }
    if (c.isPunct('=') ) {
      c.report('E0201', { start: op.start, end: op.end }, "'=' assigns; a condition compares with '=='", `write ${c.source.text.slice(operand.span.start, operand.span.end)} == …`);
      c.next();
      const right = parseValue(c);
      if (right === undefined || operand.kind === 'bool') return undefined;
      return { kind: 'compare', op: '==', left: operand, right, span: { start: operand.span.start, end: right.span.end } };
    }
    return { kind: 'truthy', operand, span: operand.span };
  }
  c.report(
    'E0201',
    c.errorSpan(),
    `expected a condition, found ${describe(t)}`,
    "a condition compares a name with a value, such as branch == 'main' or tag =~ 'v*', joined with && and ||",
  );
  return undefined;
}
