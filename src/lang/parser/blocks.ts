// The shared shape of every `{ … }` body: items until `}`, with recovery.

import type { Block, Ident, Setting } from '../ast.js';
import { didYouMean } from '../../util/suggest.js';
import { type Cursor, describe } from './cursor.js';
import { parseValue, startsValue } from './values.js';
import { fit } from '../fit.js';

export interface Body<T> {
  readonly items: T[];
  /** Offset just past the closing `}` (or the last token read when it is missing). */
  readonly end: number;
  readonly closed: boolean;
}

/**
 * Parses `{ item* }`. `parseItem` returns an item, or undefined after it has
 * reported a problem; the loop then recovers to the next statement.
 */
export function parseBody<T>(c: Cursor, owner: string, parseItem: (c: Cursor) => T | undefined): Body<T> {
  const open = c.expectPunct('{', `after '${owner}'`);
  const items: T[] = [];
  if (!open) return { items, end: c.previous.end, closed: false };
  while (!c.isPunct('}')) {
    if (c.atEnd) {
      const p = c.source.position(open.start);
      c.report(
        'E0208',
        { start: open.start, end: open.end },
        `'{' of '${owner}' on line ${p.line} is never closed`,
        "add the matching '}'",
      );
      return { items, end: c.previous.end, closed: false };
    }
    const before = c.peek;
    const item = parseItem(c);
    if (item !== undefined) items.push(item);
    if (c.peek === before) {
      // Nothing was consumed: skip the broken statement so the loop advances.
      c.recover();
      if (c.peek === before && !c.isPunct('}')) c.next();
    } else if (item === undefined) {
      if (!c.isPunct('}') && !c.peek.newlineBefore) c.recover();
    }
  }
  const close = c.next();
  return { items: fit(items), end: close.end, closed: true };
}

/** `name = value`, with the cursor on the name and `=` next. */
export function parseSetting(c: Cursor): Setting | undefined {
  const name = c.ident();
  c.next(); // =
  const value = parseValue(c, `a value for '${name.name}'`);
  if (value === undefined) return undefined;
  return { kind: 'setting', name, value, span: { start: name.span.start, end: value.span.end } };
}

/** A generic named block of settings and nested blocks: `docker { image = 'x' }`. */
export function parseBlock(c: Cursor): Block {
  const name = c.ident();
  const body = parseBody(c, name.name, (c) => parseBlockItem(c, name.name));
  return { kind: 'block', name, items: body.items, span: { start: name.span.start, end: body.end } };
}

function parseBlockItem(c: Cursor, owner: string): Setting | Block | undefined {
  if (c.isIdent() && c.isPunct('=', c.peekAt(1))) return parseSetting(c);
  if (c.isIdent() && c.isPunct('{', c.peekAt(1))) return parseBlock(c);
  return expectedSetting(c, owner);
}

/** Reports the most helpful error for something that should have been `name = value`. */
export function expectedSetting(c: Cursor, owner: string): undefined {
  const t = c.peek;
  const nextTok = c.peekAt(1);
  if (t.kind === 'ident' && startsValue(c, nextTok) && !nextTok.newlineBefore) {
    c.report(
      'E0201',
      { start: t.end, end: t.end },
      `expected '=' after '${t.text}' in '${owner}', found ${describe(nextTok)}`,
      `settings are written ${t.text} = value`,
    );
  } else {
    c.report('E0201', c.errorSpan(), `expected a setting (name = value) in '${owner}', found ${describe(t)}`);
  }
  return undefined;
}

/**
 * An identifier that is not a keyword of this block: an unknown block name
 * (with a suggestion), a setting missing its `=`, or just something stray.
 */
export function unknownItem(c: Cursor, owner: string, keywords: readonly string[], settingsAllowed: boolean): undefined {
  const t = c.peek;
  if (t.kind !== 'ident') {
    if (c.isPunct('{')) {
      c.report('E0201', { start: t.start, end: t.end }, `unexpected '{' in '${owner}'`, "a block starts with its name, such as stage { … }");
      c.skipBlock();
      return undefined;
    }
    c.report('E0201', c.errorSpan(), `expected ${listOf(keywords, settingsAllowed)} in '${owner}', found ${describe(t)}`);
    return undefined;
  }
  const nextTok = c.peekAt(1);
  const name: Ident = { kind: 'ident', name: t.text, span: { start: t.start, end: t.end } };
  if (c.isPunct('{', nextTok) || c.isPunct('(', nextTok)) {
    c.report('E0202', name.span, `unknown block '${t.text}' in '${owner}'`, didYouMean(t.text, keywords, `'${owner}' holds`));
    c.next();
    if (c.isPunct('(')) {
      while (!c.atEnd && !c.isPunct(')') && !c.isPunct('{') && !c.peek.newlineBefore) c.next();
      c.eatPunct(')');
    }
    c.skipBlock();
    return undefined;
  }
  if (settingsAllowed && startsValue(c, nextTok) && !nextTok.newlineBefore) {
    const near = didYouMean(t.text, keywords, '');
    c.report(
      'E0201',
      { start: t.end, end: t.end },
      `expected '=' after '${t.text}' in '${owner}', found ${describe(nextTok)}`,
      near.startsWith('did you mean') ? near : `settings are written ${t.text} = value`,
    );
    c.recover();
    return undefined;
  }
  c.report('E0202', name.span, `unknown item '${t.text}' in '${owner}'`, didYouMean(t.text, keywords, `'${owner}' holds`));
  c.recover();
  return undefined;
}

function listOf(keywords: readonly string[], settings: boolean): string {
  const all = keywords.map((k) => `'${k}'`);
  if (settings) all.push('a setting');
  if (all.length <= 2) return all.join(' or ');
  return `${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}`;
}
