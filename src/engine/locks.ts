// Concurrency groups: a named lock across runs and processes; later runs queue in order (FIFO).

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Store } from '../store/store.js';

export interface LockManager {
  /** Resolves once this stage holds the lock. */
  acquire(lock: string, runId: string, stage: string, owner: string): Promise<void>;
  release(lock: string, runId: string, stage: string): Promise<void>;
  stopAll(): void;
}

/** `pid@host` of this process. */
export function localOwner(): string {
  return `${process.pid}@${hostname()}`;
}

/** Whether the process an owner string names is alive (only knowable on this host). */
export function ownerAlive(owner: string): boolean {
  const m = /^(\d+)@(.*)$/.exec(owner);
  if (!m) return true;
  if (m[2] !== hostname()) return true;
  const pid = Number(m[1]);
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process nobody has reaped yet is a zombie: it answers signals but is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Locks in the store's queue table. Waiters look at the head of the queue a few times a second;
 * a holder whose process died is purged so its lock is never held forever.
 */
export class StoreLocks implements LockManager {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = 100,
  ) {}

  async acquire(lock: string, runId: string, stage: string, owner: string): Promise<void> {
    await this.store.lockEnqueue({ lock, runId, stage, owner });
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      const head = await this.store.lockHead(lock);
      if (head && head.runId === runId && head.stage === stage) return;
      if (head && !ownerAlive(head.owner)) {
        await this.store.lockPurge(ownerAlive);
        // Our own place may have been purged with a dead owner's (a resumed run): queue again.
        await this.store.lockEnqueue({ lock, runId, stage, owner });
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, this.intervalMs);
        this.timers.add(t);
      });
    }
  }

  async release(lock: string, runId: string, stage: string): Promise<void> {
    await this.store.lockRelease(lock, runId, stage);
  }

  stopAll(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
