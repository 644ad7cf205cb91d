// The one code-frame renderer: `file:line:col: error[E0123]: message`, the line, a caret, the help.

import pc from 'picocolors';
import type { Diagnostic } from './diagnostics.js';

export interface RenderOptions {
  /** ANSI colours (only on a TTY and never with NO_COLOR; the caller decides). */
  readonly color?: boolean;
  /** How to show a file's path (relative to the working directory, say). */
  readonly displayPath?: (path: string) => string;
}

export function renderDiagnostic(d: Diagnostic, options: RenderOptions = {}): string {
  const c = pc.createColors(options.color ?? false);
  const start = d.source.position(d.span.start);
  const end = d.source.position(Math.max(d.span.start, d.span.end));
  const path = options.displayPath ? options.displayPath(d.source.path) : d.source.path;
  const sev = d.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
  const out: string[] = [];
  out.push(`${c.bold(`${path}:${start.line}:${start.column}:`)} ${sev}${c.bold(`[${d.code}]: ${d.message}`)}`);
  const lineText = d.source.lineText(start.line);
  const gutter = String(start.line);
  const pad = ' '.repeat(gutter.length);
  out.push(`${c.cyan(` ${gutter} |`)} ${expandTabs(lineText)}`);
  const caretStart = visualColumn(lineText, start.column - 1);
  const lastColumn = end.line === start.line ? end.column - 1 : lineText.length;
  const caretEnd = Math.max(caretStart + 1, visualColumn(lineText, lastColumn));
  const caretColor = d.severity === 'error' ? c.red : c.yellow;
  out.push(`${c.cyan(` ${pad} |`)} ${' '.repeat(caretStart)}${caretColor('^'.repeat(caretEnd - caretStart))}`);
  if (d.help !== undefined) out.push(`${c.cyan(` ${pad} =`)} ${c.bold('help:')} ${d.help}`);
  return out.join('\n');
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], options: RenderOptions = {}): string {
  return diagnostics.map((d) => renderDiagnostic(d, options)).join('\n\n');
}

/** "2 errors, 1 warning", or "no problems". */
export function summarize(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const parts: string[] = [];
  if (errors) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.length ? parts.join(', ') : 'no problems';
}

const TAB = 4;

function expandTabs(line: string): string {
  return line.replace(/\t/g, ' '.repeat(TAB));
}

/** The display column of a UTF-16 offset in a line whose tabs are expanded. */
function visualColumn(line: string, offset: number): number {
  let col = 0;
  for (let i = 0; i < Math.min(offset, line.length); i++) col += line[i] === '\t' ? TAB : 1;
  return col + Math.max(0, offset - line.length);
}
