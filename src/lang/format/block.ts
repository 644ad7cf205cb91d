// The two shapes every item takes: a one-line unit, or a header with a `{ … }` body.

import type { Value } from '../ast.js';
import type { Span } from '../source.js';
import { commentsIn, findOpen, lineOf, NO_SKIP, type Ctx, type Skip } from './comments.js';
import { writeList, type Entry } from './list.js';
import { Out, WIDTH } from './out.js';
import { writeUnit } from './unit.js';

/** Writes a unit's code at the buffer's column; `indent` is its line's. */
export type Writer = (out: Out, indent: number, expand: boolean, skip: Skip) => void;

/** An item printed on one line: a setting, a step without a block, `from 'X'`, a condition. */
export function simpleEntry(
  ctx: Ctx,
  node: { readonly span: Span },
  values: readonly Value[],
  write: Writer,
): Entry {
  const { start, end } = node.span;
  return {
    start,
    end,
    simple: true,
    write: (out, indent, skip) =>
      writeUnit(ctx, out, indent, start, end, values, skip, (o, ex, sk) =>
        write(o, indent, ex, sk),
      ),
  };
}

export interface BlockSpec {
  readonly node: { readonly span: Span };
  /** Just past the header's last token: the `{` is the next thing that is not a comment. */
  readonly headerEnd: number;
  readonly headerValues: readonly Value[];
  readonly header: Writer;
  readonly entries: readonly Entry[];
}

/** A header and a body: `stage('Build') { … }`. The body's `}` is the node's last character. */
export function blockEntry(ctx: Ctx, spec: BlockSpec): Entry {
  const open = findOpen(ctx, spec.headerEnd);
  return {
    start: spec.node.span.start,
    end: spec.node.span.end,
    simple: false,
    write: (out, indent, skip) => writeBlock(ctx, out, indent, spec, open, skip),
  };
}

function writeBlock(
  ctx: Ctx,
  out: Out,
  indent: number,
  spec: BlockSpec,
  open: number,
  skip: Skip,
): void {
  const { start, end } = spec.node.span;
  const close = end - 1;
  const { entries, header, headerValues } = spec;
  const headed = (suffix: string): void =>
    writeUnit(ctx, out, indent, start, open, headerValues, skip, (o, ex, sk) => {
      header(o, indent, ex, sk);
      o.text(suffix);
    });

  if (entries.length === 0 && commentsIn(ctx, open + 1, close).length === 0) {
    headed(' {}');
    return;
  }
  const only = entries[0];
  if (
    entries.length === 1 &&
    only !== undefined &&
    only.simple &&
    lineOf(ctx, start) === lineOf(ctx, close) &&
    commentsIn(ctx, start, end).length === 0
  ) {
    // The source kept it on one line: keep it so if it still fits.
    const flat = new Out(out.col);
    header(flat, indent, false, NO_SKIP);
    flat.text(' { ');
    only.write(flat, indent + 2, NO_SKIP);
    flat.text(' }');
    if (flat.lines.length === 1 && flat.width() <= WIDTH) {
      out.append(flat);
      return;
    }
  }
  headed(' {');
  writeList(ctx, out, { open, close, indent: indent + 2, entries, sep: '', skip: NO_SKIP });
  out.text('}');
}

/** A header that is just a keyword. */
export function keyword(word: string): Writer {
  return (out) => out.text(word);
}
