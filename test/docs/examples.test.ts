// Every whole-file ```otto example in the README and docs/ passes `otto check` (docs/diagnostics.md shows mistakes on purpose).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, hasErrors, loadProgramFromSource, SourceFile } from '../../src/lang/index.js';
import { repoRoot } from '../helpers.js';

function examples(path: string): Array<{ line: number; text: string }> {
  const text = readFileSync(path, 'utf8');
  const out: Array<{ line: number; text: string }> = [];
  const re = /```otto\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[1] as string;
    // Whole files only; examples that need a second file or a pinned remote library are shown, not run here.
    if (!/^(pipeline|blueprint)\s*\{/m.test(body) || /^\/\/ file:/m.test(body) || /use\s*\{[^}]*['"](https?|git\+|file):\/\//.test(body)) continue;
    out.push({ line: text.slice(0, m.index).split('\n').length, text: body });
  }
  return out;
}

const files = [join(repoRoot, 'README.md'), ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md') && f !== 'diagnostics.md').map((f) => join(repoRoot, 'docs', f))];

for (const file of files) {
  const list = examples(file);
  if (list.length === 0) continue;
  test(`examples in ${file.slice(repoRoot.length)} check without errors`, () => {
    for (const ex of list) {
      const { diagnostics } = check(loadProgramFromSource(new SourceFile(`${file.slice(repoRoot.length)}:${ex.line}`, ex.text)));
      assert.ok(!hasErrors(diagnostics), `example at line ${ex.line}:\n${diagnostics.map((d) => `${d.code} ${d.message}`).join('\n')}`);
    }
  });
}
