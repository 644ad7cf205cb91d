// The body of a `{ … }` block, an expanded `[ … ]` array, or the file: items, comments, blank lines.

import type { Comment } from '../tokens.js';
import { blankBetween, commentsIn, lineOf, writeComment, type Ctx, type Skip } from './comments.js';
import type { Out } from './out.js';

/** One item of a list, written on a fresh line. */
export interface Entry {
  readonly start: number;
  readonly end: number;
  /** A setting, a step without a block, … — what may share a line with its block's braces. */
  readonly simple: boolean;
  /** Writes the item (and any comments hoisted out of it) starting at the buffer's column. */
  write(out: Out, indent: number, skip: Skip): void;
}

export interface ListSpec {
  /** Offset of the opening `{` or `[`; undefined for the file. */
  readonly open: number | undefined;
  /** Offset of the closing `}` or `]`, or the end of the file. */
  readonly close: number;
  /** Indentation of the items. */
  readonly indent: number;
  readonly entries: readonly Entry[];
  /** Written after each item: ',' in arrays. */
  readonly sep: string;
  readonly skip: Skip;
}

/**
 * Writes the items one per line, with the comments between them: a comment
 * on the line where an item ends follows it; one on the opening bracket's
 * line stays there; any other is written on its own line before the next
 * item (or before the closing bracket). An empty line in the source between
 * two of these survives as one; never after the opening or before the
 * closing bracket. In the file, top-level blocks are always a blank line
 * apart. Leaves the buffer on a fresh line for the closing bracket.
 */
export function writeList(ctx: Ctx, out: Out, spec: ListSpec): void {
  const { entries, indent, skip } = spec;
  const file = spec.open === undefined;
  const from = spec.open === undefined ? 0 : spec.open + 1;
  let pos = from; // the source end of what was written last
  let started = false;
  let afterItem = false;

  const newLine = (start: number, beforeItem: boolean): void => {
    if (!started) {
      started = true;
      if (!file) out.nl(indent);
      return;
    }
    if ((file && afterItem && beforeItem) || blankBetween(ctx, pos, start)) out.blank();
    out.nl(indent);
  };
  const sameLine = (c: Comment): void => {
    out.text(' ');
    writeComment(ctx, out, c);
    pos = c.end;
  };

  let gapStart = from;
  for (let i = 0; i <= entries.length; i++) {
    const e = entries[i];
    const gap = commentsIn(ctx, gapStart, e === undefined ? spec.close : e.start, skip);
    let k = 0;
    const prev = entries[i - 1];
    const stickTo =
      prev !== undefined
        ? lineOf(ctx, prev.end)
        : spec.open !== undefined
          ? lineOf(ctx, spec.open)
          : -1;
    while (k < gap.length && lineOf(ctx, (gap[k] as Comment).start) === stickTo)
      sameLine(gap[k++] as Comment);
    for (; k < gap.length; k++) {
      const c = gap[k] as Comment;
      newLine(c.start, e !== undefined);
      writeComment(ctx, out, c);
      pos = c.end;
      afterItem = false;
    }
    if (e === undefined) break;
    newLine(e.start, true);
    e.write(out, indent, skip);
    out.text(spec.sep);
    pos = e.end;
    gapStart = e.end;
    afterItem = true;
  }
  if (!file) out.nl(indent - 2);
}
