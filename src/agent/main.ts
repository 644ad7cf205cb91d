// Entry point of the local agent process (`node dist/src/agent/main.js`): the stdio agent on fd 0/1.

import { createObjectOps } from './objects/index.js';
import { StdioAgent } from './stdio-agent.js';

const agent = new StdioAgent({
  input: process.stdin,
  output: process.stdout,
  warn: (line) => process.stderr.write(`${line}\n`),
  // Artifacts and caches go to the object store each job names (a local directory for now).
  objects: createObjectOps(),
});

// Dying with steps still running would orphan their process groups: stop them first, then exit.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => agent.shutdown(`the agent received ${sig}`));
}
process.on('uncaughtException', (e) => {
  process.stderr.write(`otto agent: internal error: ${e.stack ?? e.message}\n`);
  agent.shutdown('the agent hit an internal error');
});

await agent.start();
// stdin may still be open after a 'shutdown' command; nothing else should keep the agent alive.
process.exit(0);
