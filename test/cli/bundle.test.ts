// The bundle bin/otto runs (scripts/bundle.mjs, part of `npm test` and `npm run build`): its entry
// points exist at the paths src/util/install.ts gives, it is fresh (bin/otto falls back to dist/src
// for a stale one, which would leave the bundle untested), V8 accepts the CLI's code cache, and its
// agent starts and says hello.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runOtto } from '../helpers.js';

const bundle = join(repoRoot, 'dist', 'bundle');

test('the bundle has every entry point the CLI starts, and is as new as the compiled modules', () => {
  for (const entry of ['cli/main.cjs', 'agent/main.js', 'agent/objects/blob-worker.js'])
    assert.ok(existsSync(join(bundle, entry)), `dist/bundle/${entry} (run npm run build)`);
  // bin/otto compares with tsc's build info, which tsc rewrites whenever it emits anything.
  const lastTsc = statSync(join(repoRoot, 'dist', '.tsbuildinfo')).mtimeMs;
  assert.ok(statSync(join(bundle, 'cli', 'main.cjs')).mtimeMs >= lastTsc, 'bin/otto would skip a stale bundle');
});

test("V8 accepts the CLI bundle's code cache (written by scripts/bundle.mjs after a sample run)", () => {
  const load = join(repoRoot, 'bin', 'load-cli.mjs');
  const cli = join(bundle, 'cli', 'main.cjs');
  const code = `const { loadCli } = await import(${JSON.stringify(load)}); const r = loadCli(${JSON.stringify(cli)}); process.stdout.write(r.cache + ' ' + typeof r.exports.run);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'accepted function');
  assert.ok(statSync(`${cli}.cache`).size > 100_000, 'the cache holds more than the top level');
});

test("the bundle's agent starts and says hello; the bundled CLI knows its version", () => {
  const r = spawnSync(process.execPath, [join(bundle, 'agent', 'main.js'), '--frames'], { input: '', encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{"type":"hello","protocol":1,/);
  const v = runOtto(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('otto run that stops at a usage error leaves no agent behind (bin/otto starts one early)', () => {
  const mark = `otto-prestart-${process.pid}-${Date.now()}`;
  const r = runOtto(['run', 'no-such-pipeline.otto'], { env: { OTTO_TEST_MARK: mark } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no-such-pipeline\.otto/);
  const survivors = readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`OTTO_TEST_MARK=${mark}`);
    } catch {
      return false;
    }
  });
  assert.deepEqual(survivors, [], 'no process with the mark outlives otto');
});
