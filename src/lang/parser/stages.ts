// Nodes (stage, parallel, each, orphan steps, stages) and every item a stage holds.

import type {
  Cache,
  CacheUse,
  Condition,
  Each,
  EnvironmentRef,
  FromRef,
  GateItem,
  GatePhase,
  Gates,
  Ident,
  Node,
  Notify,
  NotifyPhase,
  Parallel,
  Runtime,
  Setting,
  Stage,
  StageItem,
  StagesBlock,
  StringLit,
  Value,
  When,
  Block,
} from '../ast.js';
import { type Cursor, describe } from './cursor.js';
import { parseBlock, parseBody, parseSetting, unknownItem, expectedSetting } from './blocks.js';
import { parseStep, parseStepItem, parseStepsBlock } from './steps.js';
import { parseCondition, parseString, parseValue, startsValue } from './values.js';

export const NODE_KEYWORDS = ['stage', 'parallel', 'each', 'steps', 'stages'] as const;
export const STAGE_KEYWORDS = [
  'steps',
  'stage',
  'parallel',
  'each',
  'stages',
  'runtime',
  'cache',
  'gates',
  'when',
  'notify',
  'environment',
] as const;
export const GATE_STEPS = ['input', 'webhook', 'poll'] as const;

/** Parses a node if the cursor stands on one; undefined (nothing consumed) otherwise. */
export function parseNodeIfAny(c: Cursor): Node | StagesBlock | undefined {
  if (!c.isIdent()) return undefined;
  const nextIsBody = c.isPunct('{', c.peekAt(1));
  switch (c.peek.text) {
    case 'stage':
      if (nextIsBody || c.isPunct('(', c.peekAt(1))) return parseStage(c);
      return undefined;
    case 'parallel':
      return nextIsBody ? parseParallel(c) : undefined;
    case 'each':
      return c.isPunct('(', c.peekAt(1)) ? parseEach(c) : undefined;
    case 'steps':
      return nextIsBody || c.peekAt(1).newlineBefore ? parseStepsBlock(c) : undefined;
    case 'stages':
      return nextIsBody || c.peekAt(1).newlineBefore ? parseStages(c) : undefined;
  }
  return undefined;
}

export function parseStages(c: Cursor): StagesBlock {
  const kw = c.next();
  const body = parseBody(c, 'stages', (c) => parseNodeIfAny(c) ?? unknownItem(c, 'stages', NODE_KEYWORDS, false));
  const items: Node[] = [];
  for (const item of body.items) {
    // `stages` inside `stages` is a plain sequence: flatten it.
    if (item.kind === 'stages') items.push(...item.items);
    else items.push(item);
  }
  return { kind: 'stages', items, span: { start: kw.start, end: body.end } };
}

function parseStage(c: Cursor): Stage {
  const kw = c.next();
  let label: StringLit | undefined;
  if (c.eatPunct('(')) {
    if (c.peek.kind === 'string') label = parseString(c);
    else c.report('E0201', c.errorSpan(), `expected the stage name as a string, found ${describe(c.peek)}`, "write stage('Build') { … }");
    if (!c.expectPunct(')', 'after the stage name')) {
      while (!c.atEnd && !c.isPunct('{') && !c.isPunct(')') && !c.peek.newlineBefore) c.next();
      c.eatPunct(')');
    }
  }
  const body = parseBody(c, 'stage', parseStageItem);
  const span = { start: kw.start, end: body.end };
  return label ? { kind: 'stage', label, items: body.items, span } : { kind: 'stage', items: body.items, span };
}

function parseStageItem(c: Cursor): StageItem | undefined {
  const node = parseNodeIfAny(c);
  if (node) return node;
  if (c.isIdent() && c.isPunct('=', c.peekAt(1))) {
    if (c.peek.text === 'environment') {
      c.report('E0201', { start: c.peekAt(1).start, end: c.peekAt(1).end }, "a stage names its environment with '->'", 'write environment -> production');
      const name = c.ident();
      c.next();
      const v = parseValue(c);
      if (v?.kind === 'string' && v.segments.length === 1 && v.segments[0]?.kind === 'text') {
        return { kind: 'environment', name: { kind: 'ident', name: v.segments[0].text, span: v.span }, span: { start: name.span.start, end: v.span.end } };
      }
      return undefined;
    }
    return parseSetting(c);
  }
  if (c.isIdent()) {
    const next = c.peekAt(1);
    switch (c.peek.text) {
      case 'runtime':
        if (c.isPunct('{', next)) return parseRuntime(c);
        break;
      case 'cache':
        if (c.isPunct('{', next)) return parseCache(c);
        break;
      case 'gates':
        if (c.isPunct('{', next)) return parseGates(c);
        break;
      case 'when':
        if (c.isPunct('{', next)) return parseWhen(c);
        break;
      case 'notify':
        if (c.isPunct('{', next)) return parseNotify(c);
        break;
      case 'environment':
        return parseEnvironmentRef(c);
    }
  }
  return unknownItem(c, 'stage', STAGE_KEYWORDS, true);
}

function parseEnvironmentRef(c: Cursor): EnvironmentRef | undefined {
  const kw = c.next();
  if (!c.expectPunct('->', "after 'environment'", 'write environment -> production')) return undefined;
  if (!c.isIdent()) {
    c.report('E0201', c.errorSpan(), `expected an environment name after '->', found ${describe(c.peek)}`, 'write environment -> production');
    return undefined;
  }
  const name = c.ident();
  return { kind: 'environment', name, span: { start: kw.start, end: name.span.end } };
}

function parseParallel(c: Cursor): Parallel {
  const kw = c.next();
  const body = parseBody(c, 'parallel', (c): Setting | Node | StagesBlock | undefined => {
    const node = parseNodeIfAny(c);
    if (node) return node;
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    return unknownItem(c, 'parallel', NODE_KEYWORDS, true);
  });
  return { kind: 'parallel', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseEach(c: Cursor): Each {
  const kw = c.next();
  c.next(); // (
  const values: Value[] = [];
  while (!c.isPunct(')') && !c.atEnd && !c.isPunct('{')) {
    const v = parseValue(c, 'a value to expand');
    if (v === undefined) {
      while (!c.atEnd && !c.isPunct(')') && !c.isPunct('{')) c.next();
      break;
    }
    values.push(v);
    if (!c.eatPunct(',')) break;
  }
  if (!c.expectPunct(')', 'to close the values of each(')) {
    while (!c.atEnd && !c.isPunct(')') && !c.isPunct('{') && !c.peek.newlineBefore) c.next();
    c.eatPunct(')');
  }
  let as: Ident | undefined;
  if (c.isIdent('as')) {
    c.next();
    if (c.isIdent()) as = c.ident();
    else c.report('E0201', c.errorSpan(), `expected a variable name after 'as', found ${describe(c.peek)}`, "write each('a', 'b') as os { … }");
  }
  const body = parseBody(c, 'each', (c) => parseNodeIfAny(c) ?? unknownItem(c, 'each', NODE_KEYWORDS, false));
  const span = { start: kw.start, end: body.end };
  return as ? { kind: 'each', values, as, items: body.items, span } : { kind: 'each', values, items: body.items, span };
}

/** `from 'Name'`, with the cursor on `from`. */
export function parseFromRef(c: Cursor, owner: string): FromRef | undefined {
  const kw = c.next();
  if (c.peek.kind !== 'string') {
    c.report('E0201', c.errorSpan(), `expected a stage name as a string after 'from' in '${owner}', found ${describe(c.peek)}`, "write from 'Build'");
    return undefined;
  }
  const target = parseString(c);
  return { kind: 'from', target, span: { start: kw.start, end: target.span.end } };
}

function parseRuntime(c: Cursor): Runtime {
  const kw = c.next();
  const body = parseBody(c, 'runtime', (c): FromRef | Block | undefined => {
    if (c.isIdent('from') && !c.isPunct('{', c.peekAt(1))) return parseFromRef(c, 'runtime');
    if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
    if (c.isIdent() && !c.isPunct('=', c.peekAt(1))) {
      const t = c.peek;
      c.report('E0201', { start: t.end, end: t.end }, `expected '{' after runtime '${t.text}'`, `write ${t.text} { }`);
      c.recover();
      return undefined;
    }
    c.report('E0201', c.errorSpan(), `expected a runtime block such as local { } or docker { image = 'node:20' }, or from 'Stage', found ${describe(c.peek)}`);
    return undefined;
  });
  return { kind: 'runtime', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseCache(c: Cursor): Cache {
  const kw = c.next();
  const body = parseBody(c, 'cache', (c): Cache['items'][number] | undefined => {
    if (c.isIdent('use') && c.isIdent(undefined, c.peekAt(1)) && !c.isPunct('=', c.peekAt(1))) {
      const u = c.next();
      const names: Ident[] = [c.ident()];
      while (c.isPunct(',')) {
        c.next();
        if (!c.isIdent()) {
          c.report('E0201', c.errorSpan(), `expected a cache name after ',', found ${describe(c.peek)}`);
          break;
        }
        names.push(c.ident());
      }
      const last = names[names.length - 1] as Ident;
      const cu: CacheUse = { kind: 'cache-use', names, span: { start: u.start, end: last.span.end } };
      return cu;
    }
    if (c.isIdent('use')) {
      c.report('E0201', c.errorSpan(), `expected a cache name after 'use', found ${describe(c.peekAt(1))}`, 'write use gems (names are not quoted)');
      c.recover();
      return undefined;
    }
    if (c.isIdent('from') && c.peekAt(1).kind === 'string') return parseFromRef(c, 'cache');
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
    return expectedSetting(c, 'cache');
  });
  return { kind: 'cache', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseGates(c: Cursor): Gates {
  const kw = c.next();
  const body = parseBody(c, 'gates', (c): GatePhase | FromRef | undefined => {
    if (c.isIdent('from') && c.peekAt(1).kind === 'string') return parseFromRef(c, 'gates');
    if ((c.isIdent('enter') || c.isIdent('exit')) && c.isPunct('{', c.peekAt(1))) {
      const phase = c.next();
      const b = parseBody(c, phase.text, parseGateItem);
      return { kind: 'gate-phase', phase: phase.text as 'enter' | 'exit', items: b.items, span: { start: phase.start, end: b.end } };
    }
    return unknownItem(c, 'gates', ['enter', 'exit', 'from'], false);
  });
  return { kind: 'gates', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseGateItem(c: Cursor): GateItem | undefined {
  if (c.isIdent()) {
    const t = c.peek;
    const next = c.peekAt(1);
    if (c.isPunct('{', next)) return parseBlock(c);
    const isGateStep = (GATE_STEPS as readonly string[]).includes(t.text);
    const argFollows =
      !next.newlineBefore &&
      (next.kind === 'string' || next.kind === 'number' || c.isPunct('[', next) || (next.kind === 'ident' && c.isPunct(':', c.peekAt(2))));
    if (isGateStep || argFollows) return parseStep(c);
  }
  const condition = parseGateCondition(c);
  return condition ? { kind: 'gate-condition', condition, span: condition.span } : undefined;
}

function parseGateCondition(c: Cursor): Condition | undefined {
  const cond = parseCondition(c);
  // Another item may follow on the same line (`branch == 'main'  input 'Ship?'`); anything else is junk.
  const startsItem = c.isIdent() || c.isPunct('!') || c.isPunct('(');
  if (cond && !startsItem && !c.isPunct('}') && !c.atEnd && !c.peek.newlineBefore) {
    c.report('E0201', c.errorSpan(), `unexpected ${describe(c.peek)} after the condition`, 'join conditions with && or ||, or put each on its own line');
    c.recover();
  }
  return cond;
}

function parseWhen(c: Cursor): When {
  const kw = c.next();
  const body = parseBody(c, 'when', parseGateCondition);
  return { kind: 'when', conditions: body.items, span: { start: kw.start, end: body.end } };
}

function parseNotify(c: Cursor): Notify {
  const kw = c.next();
  const body = parseBody(c, 'notify', (c): NotifyPhase | undefined => {
    const t = c.peek;
    if ((t.text === 'success' || t.text === 'failure' || t.text === 'complete') && c.isIdent() && c.isPunct('{', c.peekAt(1))) {
      c.next();
      const b = parseBody(c, t.text, parseStepItem);
      return { kind: 'notify-phase', on: t.text, steps: b.items, span: { start: t.start, end: b.end } };
    }
    return unknownItem(c, 'notify', ['success', 'failure', 'complete'], false);
  });
  return { kind: 'notify', items: body.items, span: { start: kw.start, end: body.end } };
}

export { startsValue };
