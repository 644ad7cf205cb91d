// A bounded fuzz test: thousands of seeded random mutations of valid files never crash or hang the
// parser, checker or formatter, and every diagnostic points inside its file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { check, loadProgramFromSource, parse, renderDiagnostic, SourceFile, hasErrors } from '../../src/lang/index.js';
import { format } from '../../src/lang/format.js';
import { compatDir, repoRoot } from '../helpers.js';

/** mulberry32: a small, seeded PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = ['{', '}', '(', ')', '[', ']', ',', '=', '==', '->', ':', '&&', '||', '!', '.', "'", '"', "'''", '"""', '${', '/*', '*/', '//', '\n', ' ', 'stage', 'steps', 'parallel', 'each', 'when', 'gates', 'enter', 'input', 'sh', 'from', 'use', 'pipeline', 'blueprint', 'vars', 'it', '-', '\\', '$', '0', '1.5', 'true', '#', '\t', '\u00e9', '🚀', '\r'];

function mutate(text: string, rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 4);
  let t = text;
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (t.length + 1));
    const kind = Math.floor(rnd() * 6);
    if (kind === 0) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(rnd() * 8));
    else if (kind === 1) t = t.slice(0, at) + (FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)] as string) + t.slice(at);
    else if (kind === 2) {
      const from = Math.floor(rnd() * t.length);
      t = t.slice(0, at) + t.slice(from, from + Math.floor(rnd() * 40)) + t.slice(at);
    } else if (kind === 3) t = t.slice(0, at);
    else if (kind === 4) t = t.slice(0, at) + t.slice(at, at + 2).split('').reverse().join('') + t.slice(at + 2);
    else t = t.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + t.slice(at);
  }
  return t;
}

function seeds(): string[] {
  const out: string[] = [];
  for (const f of ['2019/webapp.otto', '2019/matrix.otto', '2019/rubygem.blueprint', '2020/Ottofile']) {
    const p = join(compatDir, f);
    if (existsSync(p)) out.push(readFileSync(p, 'utf8'));
  }
  const cases = join(repoRoot, 'test', 'cases');
  for (const d of readdirSync(cases).sort()) {
    if (d.startsWith('valid-')) out.push(readFileSync(join(cases, d, 'Ottofile'), 'utf8'));
  }
  return out;
}

test('random mutations never crash or hang, and every diagnostic has a valid span', () => {
  const inputs = seeds();
  assert.ok(inputs.length >= 5);
  const rnd = prng(0x07707);
  const iterations = Number(process.env.OTTO_FUZZ_ITERATIONS ?? 3000);
  let formatted = 0;
  for (let i = 0; i < iterations; i++) {
    const base = inputs[i % inputs.length] as string;
    const text = mutate(base, rnd);
    const started = performance.now();
    try {
      const source = new SourceFile('fuzz.otto', text);
      const program = loadProgramFromSource(source);
      const { diagnostics } = check(program);
      for (const d of diagnostics) {
        const len = d.source.text.length;
        assert.ok(d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= len, `span ${d.span.start}-${d.span.end} outside 0-${len}: ${d.code} ${d.message}`);
        const pos = d.source.position(d.span.start);
        assert.ok(pos.line >= 1 && pos.line <= d.source.lineCount && pos.column >= 1);
        assert.ok(renderDiagnostic(d).includes(`[${d.code}]`));
      }
      const parsed = parse(source);
      if (!hasErrors(parsed.diagnostics)) {
        const once = format(parsed.file);
        const again = parse(new SourceFile('fuzz.otto', once));
        assert.ok(!hasErrors(again.diagnostics), `formatted output does not parse: ${again.diagnostics.map((d) => d.message).join('; ')}`);
        assert.equal(format(again.file), once, 'format is not idempotent');
        formatted++;
      }
    } catch (e) {
      throw new Error(`iteration ${i} failed on input:\n${JSON.stringify(text)}\n${(e as Error).stack ?? String(e)}`, { cause: e });
    }
    assert.ok(performance.now() - started < 2000, `iteration ${i} took too long (a hang?)`);
  }
  assert.ok(formatted > 50, `only ${formatted} mutations were formattable`);
});
