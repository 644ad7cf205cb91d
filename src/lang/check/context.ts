// The state one check pass shares: the program, its expansion and the diagnostics so far.

import type { OttoFile, Value } from '../ast.js';
import type { DiagnosticCode } from '../codes.js';
import { DiagnosticBag } from '../diagnostics.js';
import type { Maybe } from '../evaluate.js';
import type { EvalSite, Expansion } from '../expand.js';
import type { Program } from '../program.js';
import type { Span } from '../source.js';

export class CheckContext {
  readonly bag = new DiagnosticBag();

  constructor(
    readonly program: Program,
    readonly expansion: Expansion,
  ) {}

  report(file: OttoFile, code: DiagnosticCode, span: Span, message: string, help?: string): void {
    this.bag.report(code, file.source, span, message, help);
  }

  evaluate(v: Value, site: EvalSite, environment?: string): Maybe {
    return this.expansion.evaluate(v, site, environment);
  }
}

/** A site with no loop bindings and no blueprint: top-level settings of a file. */
export function topSite(file: OttoFile): EvalSite {
  return { file, bindings: [], blueprint: undefined };
}
