// The code registry, docs/diagnostics.md and the examples stay in sync.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CODES, CODES } from '../../src/lang/index.js';
import { exampleDiagnostics, renderDiagnosticsDoc } from '../../src/lang/docs/diagnostics-doc.js';
import { repoRoot } from '../helpers.js';

test('docs/diagnostics.md is generated from the registry (npm run docs)', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'diagnostics.md'), 'utf8');
  assert.equal(doc, renderDiagnosticsDoc(), 'docs/diagnostics.md is stale: run `npm run docs`');
});

test('every documented code heading is a registered code and every code is documented', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'diagnostics.md'), 'utf8');
  const headings = [...doc.matchAll(/^## ([EW]\d{4})$/gm)].map((m) => m[1]);
  assert.deepEqual(headings, ALL_CODES);
});

test("each code's example produces that code", () => {
  for (const code of ALL_CODES) {
    const example = (CODES[code] as { example?: string }).example;
    if (example === undefined) continue;
    const codes = exampleDiagnostics(example).map((d) => d.code);
    assert.ok(codes.includes(code), `${code}'s example gives ${codes.join(', ') || 'nothing'}`);
  }
});

test('codes without a one-file example are covered by a golden case', () => {
  const cases = readdirSync(join(repoRoot, 'test', 'cases'));
  const expected = cases.map((c) => readFileSync(join(repoRoot, 'test', 'cases', c, 'expected.txt'), 'utf8')).join('\n');
  for (const code of ALL_CODES) {
    assert.ok(expected.includes(`[${code}]`), `no golden case shows ${code}`);
  }
});

test('codes are well-formed and their severity matches their letter', () => {
  for (const code of ALL_CODES) {
    assert.match(code, /^[EW]\d{4}$/);
    assert.equal(CODES[code].severity, code.startsWith('E') ? 'error' : 'warning', code);
  }
});
