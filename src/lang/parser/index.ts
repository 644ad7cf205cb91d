// parse(): source text to a syntax tree and every syntax error in one pass.

import type { OttoFile } from '../ast.js';
import { DiagnosticBag, type Diagnostic } from '../diagnostics.js';
import { tokenStream } from '../lexer.js';
import type { SourceFile } from '../source.js';
import { Cursor } from './cursor.js';
import { parseFile } from './file.js';

export interface ParseResult {
  readonly file: OttoFile;
  readonly diagnostics: readonly Diagnostic[];
}

export function parse(source: SourceFile): ParseResult {
  const bag = new DiagnosticBag();
  const stream = tokenStream(source, bag);
  const file = parseFile(new Cursor(stream, source, bag), stream.comments);
  return { file, diagnostics: bag.items };
}

export { TOP_KEYWORDS, PIPELINE_KEYWORDS, BLUEPRINT_KEYWORDS } from './file.js';
export { STAGE_KEYWORDS, NODE_KEYWORDS, GATE_STEPS } from './stages.js';
