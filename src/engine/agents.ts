// How the orchestrator reaches agents: an interface for local child processes and remote agents.

import type { AgentEvent, StageJob } from '../protocol/agent.js';
import type { PlanRuntime } from '../protocol/plan.js';

export type EventListener = (event: AgentEvent, endOfDelivery?: boolean) => void | Promise<void>;

export interface AgentDispatcher {
  /** Capabilities the agents can offer ('local', 'sandbox', 'docker', 'label:x'). */
  capabilities(): readonly string[];
  /**
   * Why a runtime can never run here (local mode: nothing else will ever connect), or undefined.
   * A server answers undefined: a matching agent may connect later, and the stage waits for it.
   */
  refuse(runtime: PlanRuntime): string | undefined;
  /** Hands a job to an agent; events about it arrive through `onEvent`. */
  dispatch(job: StageJob): void;
  cancel(jobId: string, reason: string): void;
  /**
   * Reports from agents. A listener may return a promise that settles once the report is recorded:
   * a remote agent's delivery is acknowledged only after that, since the agent then forgets it.
   * `endOfDelivery` marks the last report of a delivery that is a batch already (a remote agent's
   * request), so nothing waits for more to record with it.
   */
  onEvent(listener: EventListener): void;
  /** Called when an agent is gone with jobs unfinished. */
  onLost(listener: (jobId: string, reason: string) => void): void;
  /** Called when an agent has taken a dispatched job (local: at once; a server: when claimed). */
  onAssigned(listener: (jobId: string, agent: string) => void): void;
  /** Called when a dispatched job waits because no connected agent can take it. */
  onWaiting?(listener: (jobId: string, reason: string) => void): void;
  close(): Promise<void>;
}

/** The capability a runtime needs, or null for plain local processes. */
export function capabilityFor(runtime: PlanRuntime): string | null {
  switch (runtime.kind) {
    case 'local':
      return null;
    case 'computer':
      return `label:${runtime.label}`;
    default:
      return runtime.kind;
  }
}

/** Why a runtime cannot run here, naming what is missing; undefined when it can. */
export function missingRuntime(runtime: PlanRuntime, capabilities: readonly string[]): string | undefined {
  const need = capabilityFor(runtime);
  if (need === null || capabilities.includes(need)) return undefined;
  switch (runtime.kind) {
    case 'docker':
      return `it needs docker (image ${runtime.image}), and no agent here offers a Docker engine`;
    case 'sandbox':
      return 'it needs the sandbox runtime, and bubblewrap (bwrap) is not installed or cannot create namespaces here';
    case 'computer':
      return `it needs an agent labelled '${runtime.label}', and none is connected`;
    case 'kubernetes':
      return `it needs kubernetes (image ${runtime.image}), which no agent here offers`;
    case 'microvm':
      return `it needs a micro-VM runtime (image ${runtime.image}), which no agent here offers`;
    default:
      return `it needs ${need}`;
  }
}
