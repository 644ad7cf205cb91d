// The layering of DESIGN.md §2, enforced: which folder may import which, and no import cycles.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './helpers.js';

const src = join(repoRoot, 'src');

/** Which top-level folders each folder may import from (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  protocol: [],
  lang: ['util'],
  plan: ['lang', 'protocol', 'util'],
  agent: ['protocol', 'util'],
  store: ['protocol', 'util'],
  engine: ['plan', 'lang', 'protocol', 'store', 'util'],
  server: ['engine', 'plan', 'lang', 'protocol', 'store', 'util', 'agent'],
  web: ['protocol'],
  cli: ['lang', 'plan', 'engine', 'agent', 'protocol', 'store', 'server', 'util'],
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) out.push(m[1] as string);
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) out.push(m[1] as string);
  return out.map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
}

const all = files(src).filter((f) => !f.includes(`${join('src', 'web')}/`));

test('each part imports only the parts below it', () => {
  const problems: string[] = [];
  for (const f of all) {
    const part = relative(src, f).split('/')[0] as string;
    for (const target of imports(f)) {
      const tpart = relative(src, target).split('/')[0] as string;
      if (tpart === part) continue;
      const allowed = ALLOWED[part];
      if (!allowed) problems.push(`${relative(repoRoot, f)}: folder '${part}' has no layering rule`);
      else if (!allowed.includes(tpart)) problems.push(`${relative(repoRoot, f)} imports ${relative(repoRoot, target)} ('${part}' may not depend on '${tpart}')`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no import cycles between modules', () => {
  const graph = new Map<string, string[]>();
  for (const f of all) graph.set(f, imports(f).filter((t) => graph.has(t) || all.includes(t)));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'visiting');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'visiting') cycles.push([...stack.slice(stack.indexOf(m)), m].map((x) => relative(src, x)).join(' -> '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, []);
});
