// Entry point of the local agent process (`node dist/src/agent/main.js [--frames]`): the stdio agent
// on fd 0/1. `--frames`: log chunks go framed as raw bytes (what `otto run` asks for); without it,
// every message is a JSON line.

import type { ObjectOps } from './object-ops.js';
import { warmUp } from './warm-up.js';
import { StdioAgent } from './stdio-agent.js';

/**
 * Artifacts and caches go to the object store each job names (a local directory for now). Their code
 * is loaded by the first job that uses them: most stages never do, and a smaller agent starts sooner.
 */
function lazyObjectOps(): ObjectOps {
  let ops: Promise<ObjectOps> | undefined;
  const load = (): Promise<ObjectOps> =>
    (ops ??= import('./objects/index.js').then((m) => m.createObjectOps()));
  return {
    store: async (op, ctx) => (await load()).store(op, ctx),
    fetch: async (op, ctx) => (await load()).fetch(op, ctx),
    cacheRestore: async (op, ctx) => (await load()).cacheRestore(op, ctx),
    cacheSave: async (op, ctx) => (await load()).cacheSave(op, ctx),
  };
}

const agent = new StdioAgent({
  input: process.stdin,
  output: process.stdout,
  warn: (line) => process.stderr.write(`${line}\n`),
  objects: lazyObjectOps(),
  frames: process.argv.includes('--frames'),
});

// Dying with steps still running would orphan their process groups: stop them first, then exit.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => agent.shutdown(`the agent received ${sig}`));
}
process.on('uncaughtException', (e) => {
  process.stderr.write(`otto agent: internal error: ${e.stack ?? e.message}\n`);
  agent.shutdown('the agent hit an internal error');
});

// Right after the hello, while otto run plans: a job of the agent's own, so that the first real one
// finds its code compiled and the step helper running (src/agent/warm-up.ts).
setImmediate(() => void warmUp());
await agent.start();
// stdin may still be open after a 'shutdown' command; nothing else should keep the agent alive.
process.exit(0);
