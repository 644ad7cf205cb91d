// Retry pacing for the agent's requests: capped exponential backoff with jitter, and a shared view
// of whether the server is reachable so that one success wakes every waiting retry at once.

export interface BackoffPolicy {
  /** The first delay after a failure. */
  readonly initialMs: number;
  /** No delay is longer than this. */
  readonly maxMs: number;
}

/** Default: 250 ms doubling to 15 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 15_000 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The delay before the next try: the ceiling doubles per failure up to maxMs, and the upper half
   * is random ("equal jitter"), so agents that lost the same server do not return in lockstep
   * while no delay collapses to zero.
   */
  next(): number {
    const ceiling = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.attempt);
    if (ceiling < this.policy.maxMs) this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Whether the server answered lately. Failures are logged once per outage (not once per request),
 * and a success anywhere cuts every pending retry delay short: the claim loop, the heartbeat and
 * each job's event delivery all notice a returning server within one round trip.
 */
export class Connectivity {
  private downSince: number | null = null;
  private waiters = new Set<() => void>();

  constructor(private readonly log: (line: string) => void) {}

  get reachable(): boolean {
    return this.downSince === null;
  }

  succeeded(): void {
    if (this.downSince !== null) {
      const s = ((Date.now() - this.downSince) / 1000).toFixed(1);
      this.log(`the server answers again (after ${s} s); delivering what was buffered`);
      this.downSince = null;
    }
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  failed(message: string): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.log(
      `cannot reach the server: ${message}; retrying (running steps go on, their events are kept until delivered)`,
    );
  }

  /** Waits `ms`, or less when another request gets through first or `signal` aborts. */
  pause(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      if (signal?.aborted) return done();
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
