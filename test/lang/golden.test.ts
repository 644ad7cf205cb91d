// Golden cases: test/cases/<name>/Ottofile with expected.txt holding the exact rendered diagnostics
// and, for files without errors, the formatted form. Regenerate with UPDATE_GOLDEN=1 npm test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { check, hasErrors, loadProgram, renderDiagnostics } from '../../src/lang/index.js';
import { format } from '../../src/lang/format.js';
import { repoRoot } from '../helpers.js';

const casesDir = join(repoRoot, 'test', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

export function goldenOutput(dir: string): string {
  const program = loadProgram(join(dir, 'Ottofile'));
  const { diagnostics } = check(program);
  const rendered = renderDiagnostics(diagnostics, { displayPath: (p) => relative(dir, p) || p });
  let out = `== check\n${rendered || 'ok'}\n`;
  if (!hasErrors(diagnostics)) out += `== fmt\n${format(program.main)}`;
  return out;
}

const cases = readdirSync(casesDir).sort();

test('the golden corpus holds at least 60 cases', () => {
  assert.ok(cases.length >= 60, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const dir = join(casesDir, name);
    const actual = goldenOutput(dir);
    const expectedPath = join(dir, 'expected.txt');
    if (update || !existsSync(expectedPath)) {
      if (!update) assert.fail(`${expectedPath} is missing; run UPDATE_GOLDEN=1 npm test`);
      writeFileSync(expectedPath, actual);
      return;
    }
    assert.equal(actual, readFileSync(expectedPath, 'utf8'));
  });
}
