// The ObjectOps the runner calls: artifacts and caches in the object store a job names.

import type { StageJob } from '../../protocol/agent.js';
import {
  NO_OBJECTS_MESSAGE,
  type ObjectOpContext,
  type ObjectOpResult,
  type ObjectOps,
} from '../object-ops.js';
import { fetchArtifact, storeArtifact } from './artifacts.js';
import { type RestoredCache, restoreCache, saveCache } from './caches.js';
import { errorText } from './errors.js';
import { LocalObjectStore } from './local-store.js';
import { opScope, type OpScope } from './scope.js';
import type { ObjectStore } from './store.js';

export type ObjectsSpec = NonNullable<StageJob['objects']>;

/** Opens the store a job names (one instance per location, shared by the jobs of this agent). */
export type StoreOpener = (spec: ObjectsSpec) => ObjectStore;

export function localStores(): StoreOpener {
  const open = new Map<string, ObjectStore>();
  return (spec) => {
    let store = open.get(spec.dir);
    if (store === undefined) {
      store = new LocalObjectStore(spec.dir);
      open.set(spec.dir, store);
    }
    return store;
  };
}

export function createObjectOps(openStore: StoreOpener = localStores()): ObjectOps {
  /** Cache keys computed by each job's CACHE_RESTOREs, by cache name, for its CACHE_SAVEs. */
  const restoredKeys = new WeakMap<StageJob, Map<string, RestoredCache>>();
  const run = async (
    ctx: ObjectOpContext,
    body: (store: ObjectStore, scope: OpScope) => Promise<Partial<ObjectOpResult> | void>,
  ): Promise<ObjectOpResult> => {
    const spec = ctx.job.objects;
    if (spec === null || spec === undefined)
      return { ok: false, message: NO_OBJECTS_MESSAGE, log: [] };
    let scope: OpScope | undefined;
    try {
      ctx.signal.throwIfAborted();
      const store = openStore(spec);
      scope = opScope(ctx, spec.dir);
      const extra = await body(store, scope);
      return { ok: true, message: '', log: scope.log, ...(extra ?? {}) };
    } catch (e) {
      // Lines logged before the failure (skipped paths, …) still reach the stage log.
      return { ok: false, message: errorText(e), log: scope?.log ?? [] };
    }
  };
  return {
    store: (op, ctx) =>
      run(ctx, async (store, scope) => ({ artifact: await storeArtifact(store, op, scope) })),
    fetch: (op, ctx) => run(ctx, (store, scope) => fetchArtifact(store, op, scope)),
    cacheRestore: (op, ctx) =>
      run(ctx, async (store, scope) => {
        const restored = await restoreCache(store, op, scope);
        const keys = restoredKeys.get(ctx.job) ?? new Map<string, RestoredCache>();
        restoredKeys.set(ctx.job, keys.set(op.name, restored));
      }),
    cacheSave: (op, ctx) =>
      run(ctx, (store, scope) =>
        saveCache(store, op, scope, restoredKeys.get(ctx.job)?.get(op.name)),
      ),
  };
}
