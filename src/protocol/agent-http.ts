// The agent protocol over HTTP (version 1), between `otto serve` and `otto agent`.
// Every route is under /api/v1/agent and takes a bearer token with the `agent` (or `admin`) role.
//
//   POST /api/v1/agent/register   RegisterRequest  -> RegisterResponse
//   POST /api/v1/agent/claim      ClaimRequest     -> ClaimResponse     (long-poll: answers as soon as
//                                                                        there is work or a cancel,
//                                                                        else after waitMs with nothing)
//   POST /api/v1/agent/jobs/:jobId/events  EventsRequest -> EventsResponse (idempotent by eventSeq)
//   POST /api/v1/agent/heartbeat  HeartbeatRequest -> HeartbeatResponse
//
// An agent keeps one claim request open at all times (with free: 0 when it is full) so that work
// and cancellations reach it within milliseconds. A new claim from an agent answers its previous
// open claim at once with nothing; jobs already written into an answer stay assigned, and if an
// answer cannot be delivered (the connection closed first) its jobs go back to the queue.
// Job ids contain '/' and '#': the :jobId path segment is percent-encoded (encodeURIComponent). Events are numbered per job from 1; the server
// acknowledges the highest contiguous number it has stored, and the agent resends anything later
// (after a network failure or a server restart) until acknowledged.

import type { AgentEvent, StageJob } from './agent.js';

export const AGENT_HTTP_VERSION = 1;

export interface RegisterRequest {
  readonly protocol: typeof AGENT_HTTP_VERSION;
  /** Stable across restarts of the same agent (default: the host name). */
  readonly name: string;
  readonly labels: readonly string[];
  /** 'local', 'sandbox', 'docker', …: what this agent can run. */
  readonly capabilities: readonly string[];
  readonly maxJobs: number;
  readonly version: string;
}

export interface RegisterResponse {
  readonly agentId: string;
  /** Send a heartbeat at least this often. */
  readonly heartbeatMs: number;
  /** Keep claim requests open about this long. */
  readonly claimWaitMs: number;
}

export interface ClaimRequest {
  readonly agentId: string;
  /** How many more jobs the agent can take now (0: only listening for cancels). */
  readonly free: number;
  readonly waitMs: number;
}

/** Where the source of a job comes from, for agents that are not on the orchestrator's machine. */
export interface JobSource {
  /** A git URL or a path the agent can clone from. */
  readonly repo: string;
  readonly sha: string;
}

export interface AssignedJob {
  readonly job: StageJob;
  readonly source: JobSource;
  /**
   * The stage whose workspace this one starts from (`runtime { from }`), with the job id that ran
   * it: the server only assigns such a job to the agent that ran that stage.
   */
  readonly workspaceFrom: { readonly stage: string; readonly jobId: string } | null;
}

export interface ClaimResponse {
  readonly jobs: readonly AssignedJob[];
  /** Jobs to stop now. */
  readonly cancel: ReadonlyArray<{ readonly jobId: string; readonly reason: string }>;
}

export interface NumberedEvent {
  readonly eventSeq: number;
  readonly event: AgentEvent;
}

export interface EventsRequest {
  readonly agentId: string;
  readonly events: readonly NumberedEvent[];
}

export interface EventsResponse {
  /** The highest eventSeq stored for this job: everything up to it need not be sent again. */
  readonly ack: number;
  /** Set when the job should stop (cancelled, or no longer this agent's). */
  readonly cancel: string | null;
}

export interface HeartbeatRequest {
  readonly agentId: string;
  /** Jobs the agent is running (or still delivering events for). */
  readonly jobs: readonly string[];
  /** Runs the agent keeps workspaces of and runs no job of now (optional). */
  readonly runs?: readonly string[];
}

export interface HeartbeatResponse {
  readonly cancel: ReadonlyArray<{ readonly jobId: string; readonly reason: string }>;
  /** Jobs the server no longer knows as this agent's: stop them and drop their events. */
  readonly unknown: readonly string[];
  /** Of the runs named, those whose workspaces the agent may remove (finished, and not recent). */
  readonly prune?: readonly string[];
}
