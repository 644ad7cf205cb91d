// Language benchmark: parse + check of generated 500- and 5,000-stage pipelines, against a floor of
// JSON.parse over the same structure.

import { check, loadProgramFromSource, SourceFile } from '../src/lang/index.js';
import { generatePipeline } from './generate.js';
import { fmtMs, printSection, timeIt, type Row } from './util.js';

function asJson(stages: number): string {
  const list = Array.from({ length: stages }, (_, i) => ({ name: `Stage ${i}`, timeout: '20m', steps: [{ sh: `echo building ${i}` }, { sh: `make target-${i}` }, { echo: 'done' }] }));
  return JSON.stringify({ pipeline: { name: 'generated', stages: list } });
}

export function benchLanguage(): Row[] {
  const rows: Row[] = [];
  for (const n of [500, 5000]) {
    const text = generatePipeline(n);
    const mb = Buffer.byteLength(text) / 1e6;
    const ms = timeIt(() => {
      const r = check(loadProgramFromSource(new SourceFile('Ottofile', text)));
      if (r.diagnostics.length) throw new Error(`generated pipeline has diagnostics: ${r.diagnostics[0]?.message}`);
    });
    const json = asJson(n);
    const floor = timeIt(() => JSON.parse(json));
    rows.push({
      name: `parse + check, ${n} stages (${mb.toFixed(2)} MB)`,
      value: `${fmtMs(ms)}, ${(mb / (ms / 1000)).toFixed(1)} MB/s`,
      target: n === 5000 ? '< 150 ms' : undefined,
      ok: n === 5000 ? ms < 150 : undefined,
      note: `(floor: JSON.parse of the same stages ${fmtMs(floor)}, ratio ${(ms / floor).toFixed(1)}x)`,
    });
  }
  return rows;
}

export function printLanguage(): void {
  printSection('Language: otto check', benchLanguage());
}
