// The canonical formatter behind `otto fmt`: a parsed file back to text, comments and meaning kept.

import type { OttoFile } from './ast.js';
import { makeCtx, NO_SKIP } from './format/comments.js';
import { entryFor } from './format/items.js';
import { writeList } from './format/list.js';
import { Out } from './format/out.js';

/**
 * Prints a file that parsed without errors in the canonical style: 2-space
 * indentation, one item per line, top-level blocks a blank line apart, strings
 * and numbers exactly as written, every comment kept in order. Formatting the
 * output again changes nothing.
 */
export function format(file: OttoFile): string {
  const ctx = makeCtx(file);
  const out = new Out();
  writeList(ctx, out, {
    open: undefined,
    close: ctx.text.length,
    indent: 0,
    entries: file.items.map((item) => entryFor(ctx, item)),
    sep: '',
    skip: NO_SKIP,
  });
  const text = out.lines.join('\n');
  return text === '' ? '' : `${text}\n`;
}
