// Values, step arguments and conditions, printed from the tree (strings and numbers from their source).

import type { ArrayLit, Condition, StepArg, Value } from '../ast.js';
import { commentsIn, type Ctx, type Skip } from './comments.js';
import { writeList, type Entry } from './list.js';
import type { Out } from './out.js';
import { isFlatArray, writeUnit } from './unit.js';

/** Writes a value; `indent` is that of the line it starts on. */
export function writeValue(
  ctx: Ctx,
  out: Out,
  v: Value,
  indent: number,
  expand: boolean,
  skip: Skip,
): void {
  switch (v.kind) {
    case 'string':
      // The source text keeps quotes, escapes and a triple-quoted string's lines exactly.
      out.verbatim(v.raw);
      return;
    case 'number':
      out.text(v.raw);
      return;
    case 'bool':
      out.text(v.value ? 'true' : 'false');
      return;
    case 'ref':
      out.text(v.path.map((p) => p.name).join('.'));
      return;
    case 'call':
      out.text(`${v.callee.name}(`);
      writeValues(ctx, out, v.args, indent, expand, skip);
      out.text(')');
      return;
    case 'array':
      writeArray(ctx, out, v, indent, expand, skip);
      return;
  }
}

/** Values separated by ', '. */
export function writeValues(
  ctx: Ctx,
  out: Out,
  values: readonly Value[],
  indent: number,
  expand: boolean,
  skip: Skip,
): void {
  values.forEach((v, i) => {
    if (i > 0) out.text(', ');
    writeValue(ctx, out, v, indent, expand, skip);
  });
}

export function writeArgs(
  ctx: Ctx,
  out: Out,
  args: readonly StepArg[],
  indent: number,
  expand: boolean,
  skip: Skip,
): void {
  args.forEach((a, i) => {
    if (i > 0) out.text(', ');
    if (a.kind === 'kwarg') out.text(`${a.name.name}: `);
    writeValue(ctx, out, a.value, indent, expand, skip);
  });
}

/**
 * `[a, b]` when the source wrote the array on one line without comments (and
 * the caller does not ask to expand); otherwise one element per line with a
 * trailing comma, so the choice survives a second run.
 */
function writeArray(
  ctx: Ctx,
  out: Out,
  a: ArrayLit,
  indent: number,
  expand: boolean,
  skip: Skip,
): void {
  if (isFlatArray(ctx, a) && !expand) {
    out.text('[');
    writeValues(ctx, out, a.items, indent, false, skip);
    out.text(']');
    return;
  }
  if (a.items.length === 0 && commentsIn(ctx, a.span.start, a.span.end, skip).length === 0) {
    out.text('[]');
    return;
  }
  const entries: Entry[] = a.items.map((item) => ({
    start: item.span.start,
    end: item.span.end,
    simple: true,
    write: (o, ind, sk) =>
      writeUnit(ctx, o, ind, item.span.start, item.span.end, [item], sk, (oo, ex, s) =>
        writeValue(ctx, oo, item, ind, ex, s),
      ),
  }));
  out.text('[');
  writeList(ctx, out, {
    open: a.span.start,
    close: a.span.end - 1,
    indent: indent + 2,
    entries,
    sep: ',',
    skip,
  });
  out.text(']');
}

const OPS = { or: ' || ', and: ' && ' } as const;

/** Parentheses only where the source had them: the tree's shape already follows precedence. */
export function writeCondition(
  ctx: Ctx,
  out: Out,
  c: Condition,
  indent: number,
  expand: boolean,
  skip: Skip,
): void {
  switch (c.kind) {
    case 'or':
    case 'and':
      writeCondition(ctx, out, c.left, indent, expand, skip);
      out.text(OPS[c.kind]);
      writeCondition(ctx, out, c.right, indent, expand, skip);
      return;
    case 'not':
      out.text('!');
      writeCondition(ctx, out, c.operand, indent, expand, skip);
      return;
    case 'paren':
      out.text('(');
      writeCondition(ctx, out, c.inner, indent, expand, skip);
      out.text(')');
      return;
    case 'compare':
      writeValue(ctx, out, c.left, indent, expand, skip);
      out.text(` ${c.op} `);
      writeValue(ctx, out, c.right, indent, expand, skip);
      return;
    case 'truthy':
      writeValue(ctx, out, c.operand, indent, expand, skip);
      return;
  }
}
