// The top level: use, configure, environments, pipeline, blueprint.

import type {
  Blueprint,
  Configure,
  EnvironmentDecl,
  EnvironmentSettings,
  Environments,
  FromBlueprint,
  Ident,
  Node,
  OttoFile,
  Pipeline,
  Setting,
  StagesBlock,
  StepSketch,
  StringLit,
  TopItem,
  Triggers,
  Use,
  UseEntry,
  VarDecl,
  VarProp,
  VarsBlock,
  Block,
} from '../ast.js';
import type { Comment } from '../tokens.js';
import { didYouMean } from '../../util/suggest.js';
import { type Cursor, describe } from './cursor.js';
import { expectedSetting, parseBlock, parseBody, parseSetting, unknownItem } from './blocks.js';
import { NODE_KEYWORDS, parseNodeIfAny } from './stages.js';
import { parseString, parseValue } from './values.js';

export const TOP_KEYWORDS = ['use', 'configure', 'environments', 'pipeline', 'blueprint'] as const;
export const PIPELINE_KEYWORDS = [...NODE_KEYWORDS, 'from', 'triggers'] as const;
export const BLUEPRINT_KEYWORDS = [...NODE_KEYWORDS, 'vars'] as const;

export function parseFile(c: Cursor, comments: readonly Comment[]): OttoFile {
  const items: TopItem[] = [];
  while (!c.atEnd) {
    const t = c.peek;
    const item = parseTopItem(c);
    if (item) items.push(item);
    if (c.peek === t) c.next();
  }
  return { kind: 'file', source: c.source, items, comments, span: { start: 0, end: c.source.text.length } };
}

function parseTopItem(c: Cursor): TopItem | undefined {
  const t = c.peek;
  const next = c.peekAt(1);
  if (t.kind === 'ident' && c.isPunct('{', next)) {
    switch (t.text) {
      case 'use':
        return parseUse(c);
      case 'configure':
        return parseConfigure(c);
      case 'environments':
        return parseEnvironments(c);
      case 'pipeline':
        return parsePipeline(c);
      case 'blueprint':
        return parseBlueprint(c);
      case 'step':
        return parseStepSketch(c);
    }
    c.report('E0202', { start: t.start, end: t.end }, `unknown top-level block '${t.text}'`, didYouMean(t.text, TOP_KEYWORDS, 'a file holds'));
    c.next();
    c.skipBlock();
    return undefined;
  }
  if (c.isPunct('}')) {
    c.report('E0209', { start: t.start, end: t.end }, "unmatched '}'", "remove it, or add the '{' it was meant to close");
    c.next();
    return undefined;
  }
  if (t.kind === 'ident' && (TOP_KEYWORDS as readonly string[]).includes(t.text)) {
    c.next();
    c.report('E0201', c.errorSpan(), `expected '{' after '${t.text}', found ${describe(c.peek)}`);
    c.recover();
    return undefined;
  }
  const kwHint = t.kind === 'ident' ? didYouMean(t.text, TOP_KEYWORDS, 'a file holds') : `a file holds 'use', 'configure', 'environments', 'pipeline' or 'blueprint' blocks`;
  c.report('E0203', c.errorSpan(), `expected a top-level block, found ${describe(t)}`, kwHint);
  // Skip to the next line that could start a top-level block.
  c.next();
  while (!c.atEnd && !(c.peek.newlineBefore && ((c.isIdent() && c.isPunct('{', c.peekAt(1))) || c.isPunct('}')))) {
    if (c.isPunct('{')) c.skipBlock();
    else c.next();
  }
  return undefined;
}

function parseUse(c: Cursor): Use {
  const kw = c.next();
  const body = parseBody(c, 'use', (c): UseEntry | undefined => {
    let source: StringLit | Ident;
    if (c.peek.kind === 'string') source = parseString(c);
    else if (c.isIdent()) {
      source = c.ident();
      if (source.name !== 'stdlib') {
        c.report('E0201', source.span, `a library in 'use' is a quoted path or URL, found '${source.name}'`, `write '${source.name}' in quotes; only stdlib is written bare`);
      }
    } else {
      c.report('E0201', c.errorSpan(), `expected a library path, URL or stdlib in 'use', found ${describe(c.peek)}`);
      return undefined;
    }
    let alias: Ident | undefined;
    if (c.isIdent('as') && !c.peek.newlineBefore) {
      c.next();
      if (c.isIdent()) alias = c.ident();
      else c.report('E0201', c.errorSpan(), `expected a name after 'as', found ${describe(c.peek)}`);
    }
    const end = alias ? alias.span.end : source.span.end;
    return alias
      ? { kind: 'use-entry', source, alias, span: { start: source.span.start, end } }
      : { kind: 'use-entry', source, span: { start: source.span.start, end } };
  });
  return { kind: 'use', entries: body.items, span: { start: kw.start, end: body.end } };
}

function parseConfigure(c: Cursor): Configure {
  const kw = c.next();
  const body = parseBody(c, 'configure', (c): Block | undefined => {
    if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
    c.report('E0201', c.errorSpan(), `expected a block naming what it configures, such as slack { channel = '#ci' }, found ${describe(c.peek)}`);
    return undefined;
  });
  return { kind: 'configure', blocks: body.items, span: { start: kw.start, end: body.end } };
}

function parseEnvironments(c: Cursor): Environments {
  const kw = c.next();
  const body = parseBody(c, 'environments', (c): EnvironmentDecl | undefined => {
    if (!(c.isIdent() && c.isPunct('{', c.peekAt(1)))) {
      c.report('E0201', c.errorSpan(), `expected an environment block such as production { … }, found ${describe(c.peek)}`);
      return undefined;
    }
    const name = c.ident();
    const b = parseBody(c, name.name, (c): Setting | EnvironmentSettings | undefined => {
      if (c.isIdent('settings') && c.isPunct('{', c.peekAt(1))) {
        const s = c.next();
        const sb = parseBody(c, 'settings', (c) => (c.isIdent() && c.isPunct('=', c.peekAt(1)) ? parseSetting(c) : expectedSetting(c, 'settings')));
        return { kind: 'env-settings', settings: sb.items, span: { start: s.start, end: sb.end } };
      }
      if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
      return unknownItem(c, name.name, ['settings'], true);
    });
    return { kind: 'environment-decl', name, items: b.items, span: { start: name.span.start, end: b.end } };
  });
  return { kind: 'environments', environments: body.items, span: { start: kw.start, end: body.end } };
}

function parsePipeline(c: Cursor): Pipeline {
  const kw = c.next();
  const body = parseBody(c, 'pipeline', (c): Pipeline['items'][number] | undefined => {
    const node = parseNodeIfAny(c);
    if (node) return node;
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    if (c.isIdent('from') && c.peekAt(1).kind === 'string') return parseFromBlueprint(c);
    if (c.isIdent('triggers') && c.isPunct('{', c.peekAt(1))) return parseTriggers(c);
    return unknownItem(c, 'pipeline', PIPELINE_KEYWORDS, true);
  });
  return { kind: 'pipeline', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseFromBlueprint(c: Cursor): FromBlueprint {
  const kw = c.next();
  const target = parseString(c);
  if (c.isPunct('{')) {
    const b = parseBody(c, 'from', (c) => (c.isIdent() && c.isPunct('=', c.peekAt(1)) ? parseSetting(c) : expectedSetting(c, 'from')));
    return { kind: 'from-blueprint', target, vars: b.items, span: { start: kw.start, end: b.end } };
  }
  return { kind: 'from-blueprint', target, span: { start: kw.start, end: target.span.end } };
}

function parseTriggers(c: Cursor): Triggers {
  const kw = c.next();
  const body = parseBody(c, 'triggers', (c): Setting | Block | undefined => {
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
    return expectedSetting(c, 'triggers');
  });
  return { kind: 'triggers', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseBlueprint(c: Cursor): Blueprint {
  const kw = c.next();
  const body = parseBody(c, 'blueprint', (c): Blueprint['items'][number] | undefined => {
    const node = parseNodeIfAny(c);
    if (node) return node;
    if (c.isIdent('vars') && c.isPunct('{', c.peekAt(1))) return parseVars(c);
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    return unknownItem(c, 'blueprint', BLUEPRINT_KEYWORDS, true);
  });
  return { kind: 'blueprint', items: body.items, span: { start: kw.start, end: body.end } };
}

function parseVars(c: Cursor): VarsBlock {
  const kw = c.next();
  const body = parseBody(c, 'vars', (c): VarDecl | undefined => {
    if (!(c.isIdent() && c.isPunct('{', c.peekAt(1)))) {
      c.report('E0201', c.errorSpan(), `expected a var declaration such as name { type string }, found ${describe(c.peek)}`);
      return undefined;
    }
    const name = c.ident();
    const b = parseBody(c, name.name, (c): VarProp | undefined => {
      if (!c.isIdent()) {
        c.report('E0201', c.errorSpan(), `expected a property of var '${name.name}' (type, default, description), found ${describe(c.peek)}`);
        return undefined;
      }
      const prop = c.ident();
      const equals = c.eatPunct('=') !== undefined;
      if (!equals && c.peek.newlineBefore) {
        c.report('E0201', c.errorSpan(), `expected a value for '${prop.name}'`, `write ${prop.name} 'value' or ${prop.name} = 'value'`);
        return undefined;
      }
      const value = parseValue(c, `a value for '${prop.name}'`);
      if (!value) return undefined;
      return { kind: 'var-prop', name: prop, value, equals, span: { start: prop.span.start, end: value.span.end } };
    });
    return { kind: 'var-decl', name, props: b.items, span: { start: name.span.start, end: b.end } };
  });
  return { kind: 'vars', vars: body.items, span: { start: kw.start, end: body.end } };
}

function parseStepSketch(c: Cursor): StepSketch {
  const kw = c.next();
  const body = parseBody(c, 'step', (c): StepSketch['items'][number] | undefined => {
    if (c.isIdent('vars') && c.isPunct('{', c.peekAt(1))) return parseVars(c);
    if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
    if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
    return expectedSetting(c, 'step');
  });
  return { kind: 'step-sketch', items: body.items, span: { start: kw.start, end: body.end } };
}

export type { Node, StagesBlock };
