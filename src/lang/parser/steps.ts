// Steps: `sh 'make'`, `git url: '…', branch: 'main'`, `dir 'web' { … }`.

import type { Ident, Step, StepArg, StepsBlock } from '../ast.js';
import { type Cursor, describe } from './cursor.js';
import { parseBody } from './blocks.js';
import { parseValue, startsValue } from './values.js';
import { fit } from '../fit.js';

export function parseStepsBlock(c: Cursor): StepsBlock {
  const kw = c.next();
  const body = parseBody(c, 'steps', parseStepItem);
  return { kind: 'steps', steps: body.items, span: { start: kw.start, end: body.end } };
}

export function parseStepItem(c: Cursor): Step | undefined {
  if (c.peek.kind !== 'ident') {
    c.report(
      'E0201',
      c.errorSpan(),
      `expected a step, found ${describe(c.peek)}`,
      c.peek.kind === 'string' ? "a step starts with its name: sh 'make test'" : undefined,
    );
    return undefined;
  }
  return parseStep(c);
}

/** A step: its name, arguments on the same line (or continued after a comma), and an optional block. */
export function parseStep(c: Cursor): Step {
  const name = c.ident();
  const args: StepArg[] = [];
  // `name = value` in a steps block is a setting in the wrong place.
  if (c.isPunct('=')) {
    c.report(
      'E0201',
      { start: c.peek.start, end: c.peek.end },
      `'${name.name} = …' is a setting, but this is a list of steps`,
      'move the setting out of steps { }, into the stage',
    );
    c.recover();
    return { kind: 'step', name, args, span: name.span };
  }
  let continued = false;
  let comma: { start: number; end: number } | undefined;
  while (startsValue(c) && (!c.peek.newlineBefore || continued)) {
    const t = c.peek;
    if (continued && t.newlineBefore && t.kind === 'ident' && !c.isPunct(':', c.peekAt(1)) && !c.isPunct('.', c.peekAt(1)) && !c.isPunct('(', c.peekAt(1))) {
      // `sh 'x',` then `sh 'y'` on the next line: the comma is stray, the next line a new step.
      c.report('E0201', comma ?? { start: t.start, end: t.start }, `trailing comma after the arguments of '${name.name}'`, 'remove the comma; each step starts on its own line');
      break;
    }
    if (t.kind === 'ident' && c.isPunct(':', c.peekAt(1))) {
      const argName: Ident = c.ident();
      c.next(); // :
      const value = parseValue(c, `a value for '${argName.name}:'`);
      if (value === undefined) break;
      args.push({ kind: 'kwarg', name: argName, value, span: { start: argName.span.start, end: value.span.end } });
    } else {
      const value = parseValue(c, 'an argument');
      if (value === undefined) break;
      args.push({ kind: 'positional', value, span: value.span });
    }
    const commaTok = c.eatPunct(',');
    continued = commaTok !== undefined;
    comma = commaTok ? { start: commaTok.start, end: commaTok.end } : undefined;
  }
  if (c.isPunct(':')) {
    c.report('E0201', { start: c.peek.start, end: c.peek.end }, "unexpected ':'", 'a keyword argument is a name, a colon and a value: branch: \'main\'');
    c.recover();
  }
  let body: Step[] | undefined;
  let end = args.length > 0 ? (args[args.length - 1] as StepArg).span.end : name.span.end;
  if (c.isPunct('{')) {
    const b = parseBody(c, name.name, parseStepItem);
    body = b.items;
    end = b.end;
  } else if (!c.isPunct('}') && !c.atEnd && !c.peek.newlineBefore) {
    c.report(
      'E0201',
      c.errorSpan(),
      `unexpected ${describe(c.peek)} after the arguments of '${name.name}'`,
      'separate arguments with commas, and put each step on its own line',
    );
    c.recover();
  }
  const step: Step = body === undefined
    ? { kind: 'step', name, args: fit(args), span: { start: name.span.start, end } }
    : { kind: 'step', name, args: fit(args), body, span: { start: name.span.start, end } };
  return step;
}
