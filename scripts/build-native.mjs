#!/usr/bin/env node
// Builds the native step helper, dist/native/otto-spawn, from native/otto-spawn.c when a C compiler
// is there ($CC, else cc). Without one — or when the build fails — it says that steps will use
// Node's spawn and exits 0: installing never needs a compiler (see docs/development.md).
// --if-stale: build only when the helper is missing or older than its source (what the tests use).
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const source = join(root, 'native', 'otto-spawn.c');
const target = join(root, 'dist', 'native', 'otto-spawn');
const fallback =
  "otto: no native step helper (dist/native/otto-spawn); steps will use Node's spawn";

if (
  process.argv.includes('--if-stale') &&
  existsSync(target) &&
  statSync(target).mtimeMs >= statSync(source).mtimeMs
) {
  process.exit(0);
}
const cc = process.env.CC || 'cc';
if (process.platform === 'win32' || spawnSync(cc, ['--version'], { stdio: 'ignore' }).error) {
  console.log(`${fallback}: no C compiler (${cc})`);
  process.exit(0);
}
mkdirSync(join(root, 'dist', 'native'), { recursive: true });
// Built beside the target and renamed over it, so a concurrent build or a running agent never sees half a file.
const temp = `${target}.${process.pid}.tmp`;
const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', temp, source], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (r.status !== 0) {
  rmSync(temp, { force: true });
  rmSync(target, { force: true }); // a stale helper must not stay in use
  console.log(`${fallback}: ${cc} failed to compile native/otto-spawn.c`);
  process.exit(0);
}
renameSync(temp, target);
