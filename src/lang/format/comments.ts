// What the formatter knows about the source: lines, comments by offset, and how to print a comment.

import type { OttoFile } from '../ast.js';
import type { SourceFile } from '../source.js';
import type { Comment } from '../tokens.js';
import { visualWidth, type Out } from './out.js';

export interface Ctx {
  readonly text: string;
  readonly source: SourceFile;
  /** In source order, as the lexer found them. */
  readonly comments: readonly Comment[];
  readonly byStart: ReadonlyMap<number, Comment>;
}

/**
 * Comments already printed somewhere else (hoisted out of a value): the array
 * that physically holds them must not print them again.
 */
export type Skip = ReadonlySet<Comment>;
export const NO_SKIP: Skip = new Set();

export function makeCtx(file: OttoFile): Ctx {
  const byStart = new Map<number, Comment>();
  for (const c of file.comments) byStart.set(c.start, c);
  return { text: file.source.text, source: file.source, comments: file.comments, byStart };
}

/** The 1-based source line of an offset. */
export function lineOf(ctx: Ctx, offset: number): number {
  return ctx.source.position(offset).line;
}

/** Comments starting in [start, end), in order, minus those in `skip`. */
export function commentsIn(ctx: Ctx, start: number, end: number, skip: Skip = NO_SKIP): Comment[] {
  const cs = ctx.comments;
  let lo = 0;
  let hi = cs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cs[mid] as Comment).start < start) lo = mid + 1;
    else hi = mid;
  }
  const out: Comment[] = [];
  for (let i = lo; i < cs.length; i++) {
    const c = cs[i] as Comment;
    if (c.start >= end) break;
    if (!skip.has(c)) out.push(c);
  }
  return out;
}

/** True when the source has an empty line somewhere in [a, b). */
export function blankBetween(ctx: Ctx, a: number, b: number): boolean {
  return /\n[ \t\r]*\n/.test(ctx.text.slice(a, b));
}

/** The offset of the first `{` at or after `from` that is not inside a comment. */
export function findOpen(ctx: Ctx, from: number): number {
  const text = ctx.text;
  let i = from;
  while (i < text.length) {
    const c = ctx.byStart.get(i);
    if (c !== undefined) {
      i = c.end;
      continue;
    }
    if (text.charCodeAt(i) === 123) return i;
    i++;
  }
  // The file parsed without errors, so every block has its brace.
  throw new Error(`format: no '{' after offset ${from}`);
}

/** The visual column of an offset in the source. */
function sourceCol(ctx: Ctx, offset: number): number {
  const lineStart = ctx.text.lastIndexOf('\n', offset - 1) + 1;
  return visualWidth(ctx.text.slice(lineStart, offset));
}

/**
 * Writes a comment at the buffer's column. A block comment's later lines
 * move by as much as its first line moved (never left of column 0), so a
 * `/* … *\/` box keeps its shape; lines lose trailing blanks, and leading
 * tabs become spaces so the output indents with spaces only.
 */
export function writeComment(
  ctx: Ctx,
  out: Out,
  c: { readonly kind: string; readonly start: number; readonly text: string },
): void {
  if (c.kind === 'line') {
    out.text(c.text.trimEnd());
    return;
  }
  const delta = out.col - sourceCol(ctx, c.start);
  const lines = c.text.split('\n');
  out.text((lines[0] ?? '').trimEnd());
  for (const l of lines.slice(1)) {
    const lead = /^[ \t]*/.exec(l)?.[0] ?? '';
    const rest = l.slice(lead.length).trimEnd();
    out.rawLine(rest === '' ? '' : ' '.repeat(Math.max(0, visualWidth(lead) + delta)) + rest);
  }
}
