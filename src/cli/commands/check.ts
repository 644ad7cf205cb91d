// `otto check [FILE…]`: report every problem in pipeline files; exit 1 on errors.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { check, diagnosticToJson, hasErrors, loadProgram, renderDiagnostics, summarize, type Diagnostic } from '../../lang/index.js';
import { displayPath, EXIT, UsageError, useColor, writeOut } from '../io.js';
import { lockResolver } from '../../plan/lock-resolver.js';

export interface CheckOptions {
  readonly json?: boolean;
}

export function runCheck(files: readonly string[], options: CheckOptions): number {
  const targets = files.length ? files : ['Ottofile'];
  for (const f of targets) assertReadable(f);
  const all: Diagnostic[] = [];
  const summaries: string[] = [];
  for (const f of targets) {
    const program =
      f === '-'
        ? loadProgram('<stdin>', { text: readFileSync(0, 'utf8'), resolveRemote: lockResolver('Ottofile') })
        : loadProgram(f, { resolveRemote: lockResolver(f) });
    const { diagnostics } = check(program);
    all.push(...diagnostics);
    const errors = hasErrors(diagnostics);
    summaries.push(`${f === '-' ? '<stdin>' : displayPath(f)}: ${errors ? summarize(diagnostics) : diagnostics.length ? `ok (${summarize(diagnostics)})` : 'ok'}`);
  }
  if (options.json) {
    const out = { ok: !hasErrors(all), diagnostics: all.map((d) => diagnosticToJson(d, displayPath(d.source.path))) };
    writeOut(JSON.stringify(out, null, 2));
  } else {
    const rendered = renderDiagnostics(all, { color: useColor(process.stdout), displayPath });
    if (rendered) process.stdout.write(`${rendered}\n\n`);
    writeOut(summaries.join('\n'));
  }
  return hasErrors(all) ? EXIT.failed : EXIT.ok;
}

export function assertReadable(f: string): void {
  if (f === '-') return;
  if (!existsSync(f)) {
    throw new UsageError(
      `cannot read '${f}': no such file`,
      f === 'Ottofile' ? 'run otto in a directory with an Ottofile, name a file (otto check ci.otto), or create one with otto init' : 'check the path',
    );
  }
  if (statSync(f).isDirectory()) throw new UsageError(`'${f}' is a directory`, 'name the pipeline file inside it, such as ' + `${f.replace(/\/$/, '')}/Ottofile`);
}
