// The remote agent (`otto agent --server URL`): the client side of the agent HTTP protocol.

export { RemoteAgent, AGENT_EXIT } from './remote-agent.js';
export {
  resolveRemoteAgentOptions,
  AgentOptionsError,
  type RemoteAgentOptions,
  type ResolvedRemoteAgentOptions,
} from './options.js';
export { detectRunnable, RUNNABLE_RUNTIMES } from './capabilities.js';
export { AgentHttpClient, AgentHttpError, type FailureKind } from './http-client.js';
export { Backoff, Connectivity, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export { Outbox, DEFAULT_OUTBOX_LIMITS, type OutboxLimits, type Batch } from './outbox.js';
export { AgentWorkspaces, type PreparedWorkspace } from './workspaces.js';
export { pathSlug } from './paths.js';
