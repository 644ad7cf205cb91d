// Generates docs/diagnostics.md from the code registry, with each example's real output.

import { CODES, ALL_CODES, type DiagnosticCode } from '../codes.js';
import { check } from '../check/index.js';
import { renderDiagnostics } from '../frame.js';
import { loadProgramFromSource } from '../program.js';
import { SourceFile } from '../source.js';

/** The diagnostics an example file produces (checked as a lone `Ottofile`). */
export function exampleDiagnostics(example: string): ReturnType<typeof check>['diagnostics'] {
  const program = loadProgramFromSource(new SourceFile('Ottofile', example));
  return check(program).diagnostics;
}

export function renderDiagnosticsDoc(): string {
  const out: string[] = [];
  out.push('# Diagnostics');
  out.push('');
  out.push('<!-- Generated from src/lang/codes.ts by `npm run docs`; test/lang/diagnostics-doc.test.ts keeps the two equal. -->');
  out.push('');
  out.push('Every problem `otto check` reports has a stable code: `E…` for errors (the pipeline cannot run) and `W…` for warnings (legal, but probably not what you meant). Codes never change meaning; retired codes are not reused.');
  out.push('');
  out.push('A diagnostic reads `file:line:col: severity[CODE]: message`, then the source line, a caret under the problem, and a `help:` line. Lines and columns are 1-based; with `--json` the same diagnostic is an object with `code`, `severity`, `message`, `help`, `file`, `line`, `column`, `endLine` and `endColumn` (the end is exclusive).');
  out.push('');
  out.push('| code | severity | title |');
  out.push('|---|---|---|');
  for (const code of ALL_CODES) out.push(`| [${code}](#${code.toLowerCase()}) | ${CODES[code].severity} | ${CODES[code].title} |`);
  out.push('');
  for (const code of ALL_CODES) {
    const info = CODES[code as DiagnosticCode] as { severity: string; title: string; explanation: string; example?: string };
    out.push(`## ${code}`);
    out.push('');
    out.push(`**${info.title}** (${info.severity})`);
    out.push('');
    out.push(info.explanation);
    out.push('');
    if (info.example !== undefined) {
      out.push('```otto');
      out.push(info.example);
      out.push('```');
      out.push('');
      const rendered = renderDiagnostics(exampleDiagnostics(info.example).filter((d) => d.code === code));
      out.push('```text');
      out.push(rendered);
      out.push('```');
      out.push('');
    }
  }
  return out.join('\n');
}
