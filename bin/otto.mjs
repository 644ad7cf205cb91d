#!/usr/bin/env node
// What the otto command (bin/otto) runs: the built CLI — the bundle (dist/bundle, quicker to load:
// one script, compiled from V8's code cache, bin/load-cli.mjs) when it is at least as new as the
// modules tsc compiled (dist/src), else those. `npm ci` and `npm run build` make both.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCli } from './load-cli.mjs';

const at = (p) => fileURLToPath(new URL(p, import.meta.url));
const mtime = (p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs;
if (!existsSync(at('../dist/src/cli/main.js'))) {
  process.stderr.write('otto: the CLI is not built yet; run `npm ci` (or `npm run build`) in the otto checkout first\n');
  process.exit(2);
}
// A bundle older than the last tsc run that changed anything would be stale code. tsc rewrites its
// build info whenever it emits a file, and only the files it changed: an entry's mtime says less.
const lastTsc = mtime(at('../dist/.tsbuildinfo')) ?? mtime(at('../dist/src/cli/main.js')) ?? Infinity;
const build = (mtime(at('../dist/bundle/cli/main.cjs')) ?? -1) >= lastTsc ? 'bundle' : 'src';
const args = process.argv.slice(2);

// A command that runs stages needs the local agent, a Node process of its own whose boot is the
// longest part of a short run: start it now, while this process loads the CLI and plans. The CLI
// adopts it (src/engine/local-agent.ts); unadopted (a usage error), it is killed on exit.
if (['run', 'resume', 'rerun'].includes(args[0] ?? '') && !args.includes('-h') && !args.includes('--help')) {
  const agentMain = at(`../dist/${build}/agent/main.js`);
  const child = spawn(process.execPath, [agentMain, '--frames'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) s.unref();
  child.on('error', () => undefined);
  globalThis[Symbol.for('otto.prestartedAgent')] = { agentMain, child };
  process.on('exit', () => {
    if (globalThis[Symbol.for('otto.prestartedAgent')] !== undefined) child.kill('SIGKILL');
  });
}

const { run } =
  build === 'bundle'
    ? loadCli(at('../dist/bundle/cli/main.cjs'), { writeCache: process.env.OTTO_WRITE_CODE_CACHE === '1' }).exports
    : await import(at('../dist/src/cli/main.js'));
await run(args);
