// In-process notifications that a run changed or its log grew, so event streams and log followers
// wake at once instead of polling. The store stays the source of truth: listeners re-read it.

type Listener = () => void;
/** What changed: the run's events (its state), or only its logs. */
export type RunChange = 'event' | 'logs';

export class RunBus {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly any = new Set<(runId: string, change: RunChange) => void>();

  subscribe(runId: string, listener: Listener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  subscribeAll(listener: (runId: string, change: RunChange) => void): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  publish(runId: string, change: RunChange = 'event'): void {
    for (const l of this.listeners.get(runId) ?? []) l();
    for (const l of this.any) l(runId, change);
  }
}
