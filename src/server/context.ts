// What every route gets: the store, the scheduler, agents, the event bus and settings.

import type { Store } from '../store/store.js';
import type { RemoteDispatcher } from './dispatcher.js';
import type { RunBus } from './event-bus.js';
import type { Scheduler } from './scheduler.js';
import type { Metrics } from './metrics.js';

export interface ServerContext {
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly dispatcher: RemoteDispatcher;
  readonly bus: RunBus;
  readonly secretKey: () => Buffer;
  readonly metrics: Metrics;
  readonly settings: {
    readonly heartbeatMs: number;
    readonly claimWaitMs: number;
    readonly version: string;
    /** Finished runs per project whose workspaces agents keep (OTTO_KEEP_WORKSPACES). */
    readonly keepWorkspaces: number;
  };
}
