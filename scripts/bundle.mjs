#!/usr/bin/env node
// Bundles the compiled CLI and agent (dist/src) into dist/bundle with esbuild (docs/decisions.md):
// - the agent and the blob worker as ES modules at the same paths below it, the rest in shared chunks
//   (loading a hundred ES modules one by one was a fifth of `otto run`'s start-up);
// - the CLI as one CommonJS script, cli/main.cjs, which bin/load-cli.mjs compiles with V8's code
//   cache, written here after a sample `otto run` (main.cjs.cache).
// bin/otto prefers the bundle and falls back to dist/src; OTTO_NO_BUNDLE=1 skips it.
//
// Packages with native code or many optional parts stay outside the bundle and load from
// node_modules as before.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'dist', 'src');
const out = join(root, 'dist', 'bundle');

rmSync(out, { recursive: true, force: true });
if (process.env.OTTO_NO_BUNDLE === '1') {
  console.log('bundle: skipped (OTTO_NO_BUNDLE=1); otto runs from dist/src');
  process.exit(0);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('bundle: esbuild is not installed; otto runs from dist/src');
  process.exit(0);
}

const external = ['better-sqlite3', 'pg', 'pg-native', 'fastify', '@fastify/*', 'prom-client', 'playwright-core', 'esbuild', 'undici'];

await esbuild.build({
  entryPoints: ['agent/main.js', 'agent/objects/blob-worker.js'].map((p) => join(src, p)),
  outbase: src,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  external,
  // Bundled CommonJS packages call require(); give ES modules one.
  banner: { js: "import { createRequire as __ottoRequire } from 'node:module'; const require = __ottoRequire(import.meta.url);" },
  logLevel: 'warning',
});

const cli = join(out, 'cli', 'main.cjs');
await esbuild.build({
  entryPoints: [join(src, 'cli', 'main.js')],
  outfile: cli,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  external,
  // src/util/install.ts finds the installation from its module's URL: here, the script's.
  define: { 'import.meta.url': '__ottoModuleUrl' },
  banner: { js: "var __ottoModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// bin/load-cli.mjs runs the script without an import() hook (Node 20 has none for code-cached
// scripts that works with the cache): an external module must be required, not imported.
const dynamic = [...new Set(readFileSync(cli, 'utf8').match(/\bimport\(["'][^"']+["']\)/g) ?? [])];
if (dynamic.length > 0) {
  console.error(`bundle: the CLI imports ${dynamic.join(', ')} dynamically; import it statically or require it (see bin/load-cli.mjs)`);
  process.exit(1);
}

// The code cache: a sample `otto run` of a one-step pipeline, so that the cache holds what a run
// compiles. Without it the first command writes one.
const sample = mkdtempSync(join(tmpdir(), 'otto-code-cache-'));
try {
  writeFileSync(join(sample, 'Ottofile'), "pipeline {\n  stage('Sample') {\n    steps { sh 'true' }\n  }\n}\n");
  const env = { ...process.env, OTTO_WRITE_CODE_CACHE: '1', OTTO_HOME: join(sample, '.otto'), NO_COLOR: '1' };
  // The user's settings for their own runs have no say in the sample's.
  for (const k of ['OTTO_STEP_ENV', 'OTTO_KEEP_WORKSPACES', 'OTTO_SPAWNER', 'OTTO_DEBUG']) delete env[k];
  const r = spawnSync(join(root, 'bin', 'otto'), ['run', '--quiet'], { cwd: sample, env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) console.log(`bundle: no code cache (the sample run failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}); the first command writes one`);
} finally {
  rmSync(sample, { recursive: true, force: true });
}
