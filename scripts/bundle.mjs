#!/usr/bin/env node
// Bundles the compiled CLI and agent (dist/src) into dist/bundle with esbuild: the same entry
// points at the same paths below it, the rest in shared chunks. Loading a hundred ES modules one by
// one is a fifth of `otto run`'s start-up; a bundle loads in a few files (docs/decisions.md).
// bin/otto prefers the bundle and falls back to dist/src; OTTO_NO_BUNDLE=1 skips it.
//
// Packages with native code or many optional parts stay outside the bundle and load from
// node_modules as before.

import { rmSync } from 'node:fs';
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

await esbuild.build({
  entryPoints: ['cli/main.js', 'agent/main.js', 'agent/objects/blob-worker.js'].map((p) => join(src, p)),
  outbase: src,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  external: ['better-sqlite3', 'pg', 'pg-native', 'fastify', '@fastify/*', 'prom-client', 'playwright-core', 'esbuild', 'undici'],
  // Bundled CommonJS packages call require(); give ES modules one.
  banner: { js: "import { createRequire as __ottoRequire } from 'node:module'; const require = __ottoRequire(import.meta.url);" },
  logLevel: 'warning',
});
