#!/usr/bin/env node
// Runs every compiled test file with node's test runner. On Node 20 a test
// command with no file arguments runs zero tests and passes, so the list is
// explicit and an empty list is a failure.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = walk(join(root, 'dist', 'test'), []);
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.OTTO_TEST_CONCURRENCY ?? '2';
const reporter = process.env.OTTO_TEST_REPORTER ?? 'spec';
const r = spawnSync(
  process.execPath,
  // A hung test fails after 3 minutes instead of holding CI forever.
  ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', `--test-reporter=${reporter}`, ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
