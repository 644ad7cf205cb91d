// Entry point of the remote agent, for `otto agent --server URL`: resolves the options, runs the
// agent until a signal stops it, and returns the exit code (the CLI owns the process).

import {
  AGENT_EXIT,
  AgentOptionsError,
  RemoteAgent,
  detectRunnable,
  resolveRemoteAgentOptions,
  type RemoteAgentOptions,
} from './remote/index.js';
import { packageVersion } from '../util/install.js';

export type { RemoteAgentOptions } from './remote/index.js';

/** Exit code for options that make no sense (as the CLI's usage errors). */
const EXIT_USAGE = 2;

/**
 * Runs the agent: 0 after a signal-initiated shutdown, 1 when the server refuses the agent (a bad
 * token) or the work directory is unusable, 2 for bad options. SIGTERM, SIGINT or SIGHUP stop it
 * gracefully (running steps are cancelled and their last events delivered); a second one exits at once.
 */
export async function runRemoteAgent(
  raw: RemoteAgentOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const log = raw.log ?? ((line: string) => process.stderr.write(`otto agent: ${line}\n`));
  let options;
  try {
    options = resolveRemoteAgentOptions(
      { version: packageVersion(), ...raw, log },
      env,
      detectRunnable,
    );
  } catch (e) {
    if (!(e instanceof AgentOptionsError)) throw e;
    log(`error: ${e.message}`);
    return EXIT_USAGE;
  }
  if (options.server.protocol === 'http:' && !isLoopback(options.server.hostname))
    log(
      `warning: ${options.server.origin} is plain http; the agent token and job secrets cross the network unencrypted`,
    );
  const agent = new RemoteAgent(options);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++signals === 1) return agent.stop(`received ${sig}`);
    log(`received ${sig} again: exiting without waiting for steps to stop`);
    process.exit(AGENT_EXIT.failed);
  };
  const sigs = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  for (const s of sigs) process.on(s, onSignal);
  try {
    return await agent.start();
  } finally {
    for (const s of sigs) process.off(s, onSignal);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}


