// The agent's heartbeat: every heartbeatMs, paced from each send (a slow answer does not stretch
// the interval), naming the jobs the agent holds and the runs it keeps workspaces of; the answer
// carries cancels, disowned jobs and the runs whose workspaces may go.

import type { Connectivity } from './backoff.js';
import { asHttpError, type AgentHttpClient, type AgentHttpError } from './http-client.js';

export interface HeartbeatHost {
  readonly client: AgentHttpClient;
  readonly connectivity: Connectivity;
  readonly signal: AbortSignal;
  /** The agent's id and the interval the server asked for, or null before registering. */
  registration(): { readonly agentId: string; readonly heartbeatMs: number } | null;
  /** Jobs running, waiting, or still delivering events. */
  jobIds(): string[];
  cancel(jobId: string, reason: string): void;
  /** The server no longer counts this job as the agent's. */
  disowned(jobId: string): void;
  /** Runs this agent keeps workspaces of and runs no job of now: the server says which may go. */
  runsHeld(): string[];
  /** The server says these runs' workspaces may be removed. */
  prune(runIds: readonly string[]): void;
  /** The server does not know the agent (any more). */
  forgotten(err: AgentHttpError): void;
  fatal(err: AgentHttpError): void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  constructor(private readonly host: HeartbeatHost) {}

  start(): void {
    const r = this.host.registration();
    if (this.host.signal.aborted || r === null) return;
    this.timer = setTimeout(() => {
      void this.beat();
      this.start();
    }, r.heartbeatMs);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async beat(): Promise<void> {
    const reg = this.host.registration();
    if (this.inFlight || reg === null) return;
    this.inFlight = true;
    try {
      const runs = this.host.runsHeld();
      const r = await this.host.client.heartbeat(
        { agentId: reg.agentId, jobs: this.host.jobIds(), ...(runs.length > 0 ? { runs } : {}) },
        Math.max(reg.heartbeatMs, 1000),
        this.host.signal,
      );
      this.host.connectivity.succeeded();
      for (const c of Array.isArray(r?.cancel) ? r.cancel : []) this.host.cancel(c.jobId, c.reason);
      for (const jobId of Array.isArray(r?.unknown) ? r.unknown : []) this.host.disowned(jobId);
      const prune = Array.isArray(r?.prune) ? r.prune.filter((id): id is string => typeof id === 'string') : [];
      if (prune.length > 0) this.host.prune(prune);
    } catch (e) {
      const err = asHttpError(e);
      if (err.kind === 'auth') this.host.fatal(err);
      else if (err.kind === 'unknown') this.host.forgotten(err);
      else if (err.kind !== 'aborted') this.host.connectivity.failed(err.message);
    } finally {
      this.inFlight = false;
    }
  }
}
