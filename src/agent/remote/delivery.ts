// Delivers each job's numbered events: one request at a time per job, the oldest unacknowledged
// batch first, resent after any failure until the server acknowledges it.

import type { BackoffPolicy, Connectivity } from './backoff.js';
import { Backoff } from './backoff.js';
import { asHttpError, type AgentHttpClient, type AgentHttpError } from './http-client.js';
import type { RemoteJob } from './remote-job.js';

export interface DeliveryHost {
  readonly client: AgentHttpClient;
  readonly connectivity: Connectivity;
  readonly backoff: BackoffPolicy;
  readonly requestTimeoutMs: number;
  /** Aborted when the agent gives up delivering (after its shutdown drain). */
  readonly signal: AbortSignal;
  agentId(): string | null;
  log(line: string): void;
  /** The server refused the agent's token. */
  fatal(e: AgentHttpError): void;
  /** A job's delivery loop ended: all acknowledged, or the job was dropped. */
  settled(job: RemoteJob): void;
}

export class EventDelivery {
  constructor(private readonly host: DeliveryHost) {}

  /** Makes sure the job's queued events are on their way (call after queueing one). */
  deliver(job: RemoteJob): void {
    if (job.sending || this.host.signal.aborted) return;
    job.sending = true;
    void this.loop(job).finally(() => {
      job.sending = false;
      this.host.settled(job);
    });
  }

  private async loop(job: RemoteJob): Promise<void> {
    const { client, connectivity, signal } = this.host;
    const backoff = new Backoff(this.host.backoff);
    let refused = '';
    for (;;) {
      // Events queued during the previous request go in this one: none waits for a timer.
      const batch = job.dropped ? null : job.outbox.batch();
      const agentId = this.host.agentId();
      if (batch === null || signal.aborted || agentId === null) return;
      const body = `{"agentId":${JSON.stringify(agentId)},"events":[${batch.events.join(',')}]}`;
      try {
        const r = await client.events(job.jobId, body, this.host.requestTimeoutMs, signal);
        connectivity.succeeded();
        if (typeof r?.ack !== 'number')
          throw asHttpError(new Error('events: the answer has no ack'));
        if (r.ack < batch.firstSeq - 1) {
          // It acknowledged events it no longer has; they were dropped here and cannot be resent.
          this.host.log(
            `job ${job.jobId}: the server lost events ${r.ack + 1}…${batch.firstSeq - 1} it had acknowledged; dropping the job`,
          );
          return job.drop('the server lost events of this job');
        }
        job.outbox.ack(r.ack);
        if (typeof r.cancel === 'string' && r.cancel !== '') job.cancel(r.cancel);
        if (r.ack >= batch.firstSeq) backoff.reset();
        else await connectivity.pause(backoff.next(), signal); // it stored none of them: no spinning
      } catch (e) {
        const err = asHttpError(e);
        if (err.kind === 'aborted') return;
        if (err.kind === 'auth') return this.host.fatal(err);
        if (err.kind === 'unknown') {
          this.host.log(
            `job ${job.jobId}: the server does not know this job (${err.message}); stopping it and discarding its events`,
          );
          return job.drop('the server does not know this job');
        }
        if (err.kind === 'rejected') {
          // A bad request will not get better by itself, but events are never dropped silently.
          if (err.message !== refused)
            this.host.log(`job ${job.jobId}: the server refused events: ${err.message}; retrying`);
          refused = err.message;
        } else {
          connectivity.failed(err.message);
        }
        await connectivity.pause(backoff.next(), signal);
      }
    }
  }
}
