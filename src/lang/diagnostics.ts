// Diagnostics are data: a code from the registry, a place, a message and a hint.

import { CODES, type DiagnosticCode } from './codes.js';
import type { SourceFile, Span } from './source.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly help?: string;
  readonly source: SourceFile;
  readonly span: Span;
}

/** The JSON form printed by `--json` and returned by the API. */
export interface DiagnosticJson {
  code: string;
  severity: Severity;
  message: string;
  help?: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Collects diagnostics for one phase; never throws on user mistakes. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  report(code: DiagnosticCode, source: SourceFile, span: Span, message: string, help?: string): void {
    const d: Diagnostic = { code, severity: CODES[code].severity, message, source, span };
    this.items.push(help === undefined ? d : { ...d, help });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Source order: file, then offset, then code (stable and deterministic). */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.source.path < b.source.path ? -1 : a.source.path > b.source.path ? 1 : 0) ||
      a.span.start - b.span.start ||
      a.span.end - b.span.end ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/** Drops exact repeats (the same code, place and message reported twice). */
export function dedupeDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = `${d.source.path}\0${d.span.start}\0${d.span.end}\0${d.code}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

export function diagnosticToJson(d: Diagnostic, displayPath: string = d.source.path): DiagnosticJson {
  const start = d.source.position(d.span.start);
  const end = d.source.position(Math.max(d.span.end, d.span.start));
  const json: DiagnosticJson = {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: displayPath,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
  };
  if (d.help !== undefined) json.help = d.help;
  return json;
}
