// A unit is a run of code printed on one line (a setting, a step, a block's header): its comments and its fit.

import type { ArrayLit, Condition, Value } from '../ast.js';
import type { Comment } from '../tokens.js';
import { commentsIn, lineOf, writeComment, type Ctx, type Skip } from './comments.js';
import { Out, WIDTH } from './out.js';

/**
 * Writes the unit's code; `expand` asks every array that could stay on one
 * line (and is not inside another array) to break instead.
 */
export type UnitBody = (out: Out, expand: boolean, skip: Skip) => void;

/**
 * Writes the unit spanning [start, end) at the buffer's column, which starts
 * a fresh line at `indent`. Comments inside it that no multi-line array can
 * hold are hoisted onto their own lines before it.
 */
export function writeUnit(
  ctx: Ctx,
  out: Out,
  indent: number,
  start: number,
  end: number,
  values: readonly Value[],
  skip: Skip,
  body: UnitBody,
): void {
  const hoisted = hoist(commentsIn(ctx, start, end, skip), outerArrays(values));
  for (const c of hoisted) {
    writeComment(ctx, out, c);
    out.nl(indent);
  }
  const inner = hoisted.length === 0 ? skip : new Set([...skip, ...hoisted]);
  const breakable = outerArrays(values).some((a) => isFlatArray(ctx, a));
  writeFitted(out, breakable, (o, expand) => body(o, expand, inner));
}

/**
 * Writes the unit with its short arrays on one line if that fits, else with
 * them broken. Without such an array a second try would print the same.
 */
function writeFitted(
  out: Out,
  breakable: boolean,
  write: (out: Out, expand: boolean) => void,
): void {
  const flat = new Out(out.col);
  write(flat, false);
  if (!breakable || flat.width() <= WIDTH) {
    out.append(flat);
    return;
  }
  const broken = new Out(out.col);
  write(broken, true);
  out.append(broken);
}

/**
 * Which comments of a unit go before it. Those inside an array stay there
 * (the array breaks, one element per line); the rest are hoisted. If a
 * hoisted comment came after one kept in an array, hoisting would reorder
 * them, so then every comment of the unit is hoisted.
 */
function hoist(found: readonly Comment[], arrays: readonly ArrayLit[]): Comment[] {
  const inArray = (c: Comment): boolean =>
    arrays.some((a) => c.start >= a.span.start && c.end <= a.span.end);
  const free = found.filter((c) => !inArray(c));
  if (free.length === 0) return [];
  const firstKept = found.find(inArray);
  if (firstKept === undefined) return free;
  return free.every((c) => c.start < firstKept.start) ? free : [...found];
}

/** An array the source wrote on one line without comments: it may stay on one line. */
export function isFlatArray(ctx: Ctx, a: ArrayLit): boolean {
  return (
    lineOf(ctx, a.span.start) === lineOf(ctx, a.span.end - 1) &&
    commentsIn(ctx, a.span.start, a.span.end).length === 0
  );
}

/** The arrays among values that are not inside another array. */
export function outerArrays(values: readonly Value[]): ArrayLit[] {
  const out: ArrayLit[] = [];
  for (const v of values) {
    if (v.kind === 'array') out.push(v);
    else if (v.kind === 'call') out.push(...outerArrays(v.args));
  }
  return out;
}

/** Every value a condition compares. */
export function conditionValues(c: Condition): Value[] {
  switch (c.kind) {
    case 'or':
    case 'and':
      return [...conditionValues(c.left), ...conditionValues(c.right)];
    case 'not':
      return conditionValues(c.operand);
    case 'paren':
      return conditionValues(c.inner);
    case 'compare':
      return [c.left, c.right];
    case 'truthy':
      return [c.operand];
  }
}
