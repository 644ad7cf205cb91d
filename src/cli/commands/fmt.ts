// `otto fmt [FILE…|-]`: canonical formatting to stdout, in place (--write), or as a check (--check).

import { readFileSync, writeFileSync } from 'node:fs';
import { format } from '../../lang/format.js';
import { hasErrors, parse, renderDiagnostics, SourceFile } from '../../lang/index.js';
import { displayPath, EXIT, UsageError, useColor, writeErr, writeOut } from '../io.js';
import { assertReadable } from './check.js';

export interface FmtOptions {
  readonly write?: boolean;
  readonly check?: boolean;
}

export function runFmt(files: readonly string[], options: FmtOptions): number {
  const targets = files.length ? files : ['Ottofile'];
  if (options.write && options.check) throw new UsageError('--write and --check cannot be used together', 'use --check in CI and --write on your machine');
  if (options.write && targets.includes('-')) throw new UsageError("--write cannot rewrite standard input ('-')", 'drop --write to print the result');
  for (const f of targets) assertReadable(f);
  let code: number = EXIT.ok;
  const unformatted: string[] = [];
  for (const f of targets) {
    const text = f === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
    const source = new SourceFile(f === '-' ? '<stdin>' : f, text);
    const { file, diagnostics } = parse(source);
    if (hasErrors(diagnostics)) {
      writeErr(renderDiagnostics(diagnostics, { color: useColor(process.stderr), displayPath }));
      writeErr(`${displayPath(source.path)}: not formatted: fix the syntax errors first`);
      code = EXIT.failed;
      continue;
    }
    const formatted = format(file);
    if (options.check) {
      if (formatted !== source.text) unformatted.push(displayPath(source.path));
    } else if (options.write) {
      if (formatted !== text) writeFileSync(f, formatted);
    } else {
      process.stdout.write(formatted);
    }
  }
  if (options.check && unformatted.length) {
    writeOut(unformatted.map((f) => `${f}: not formatted`).join('\n'));
    writeErr('run otto fmt --write to format');
    return EXIT.failed;
  }
  return code;
}
