// A small pool of worker threads for the local object store's batches of files.
//
// Each file costs a handful of syscalls (open, read, stat, write, rename, close). On the main thread
// they run one after another; spread over a few threads the kernel does them in parallel, and the
// agent's event loop stays free for the step output and commands of its other jobs (a large file is
// copied in one go, synchronously, by one thread). Batches below WORKER_MIN_FILES, or a machine
// where workers cannot start, use the main thread in time slices.

import { existsSync } from 'node:fs';
import { buildFile } from '../../util/install.js';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ObjectError, type ObjectErrorCode } from './errors.js';
import type { FileToGet, FileToPut, PutResult } from './store.js';

export type BlobRequest =
  | {
      readonly id: number;
      readonly dir: string;
      readonly kind: 'put';
      readonly items: readonly FileToPut[];
    }
  | {
      readonly id: number;
      readonly dir: string;
      readonly kind: 'get';
      readonly items: readonly FileToGet[];
    };

export type BlobResponse =
  | { readonly id: number; readonly ok: true; readonly results: readonly PutResult[] }
  | {
      readonly id: number;
      readonly ok: false;
      readonly message: string;
      readonly code?: ObjectErrorCode;
    };

/** Batches smaller than this stay on the calling thread (a round trip costs more than they do). */
export const WORKER_MIN_FILES = 16;
/** Files per message: small enough to balance the threads and to stop soon after an abort. */
const CHUNK = 64;

/** The pool itself failed (a worker died or could not start): the batch may be redone elsewhere. */
export class WorkerPoolError extends Error {
  override readonly name = 'WorkerPoolError';
}

interface Lane {
  readonly worker: Worker;
  pending: ((res: BlobResponse) => void) | null;
}

export class BlobWorkers {
  private lanes: Lane[] | null = null;
  private broken = false;
  private nextId = 1;

  constructor(
    private readonly size = Math.max(1, Math.min(4, availableParallelism())),
    /** The worker's script (tests start a broken one to see the fallback). */
    private readonly script: string | URL = buildFile('agent/objects/blob-worker.js'),
  ) {}

  /** False when the pool cannot start here (the caller then works on the main thread). */
  get available(): boolean {
    return !this.broken && this.start() !== null;
  }

  put(dir: string, items: readonly FileToPut[], signal?: AbortSignal): Promise<PutResult[]> {
    return this.run(dir, 'put', items, signal);
  }

  async get(dir: string, items: readonly FileToGet[], signal?: AbortSignal): Promise<void> {
    await this.run(dir, 'get', items, signal);
  }

  private async run(
    dir: string,
    kind: 'put' | 'get',
    items: readonly (FileToPut | FileToGet)[],
    signal?: AbortSignal,
  ): Promise<PutResult[]> {
    const lanes = this.start();
    if (lanes === null)
      throw new WorkerPoolError('the object store worker threads are not available');
    const results = new Array<PutResult>(kind === 'put' ? items.length : 0);
    let next = 0;
    let failure: Error | null = null;
    const drive = async (lane: Lane): Promise<void> => {
      while (next < items.length && failure === null && signal?.aborted !== true) {
        const from = next;
        next = Math.min(items.length, next + CHUNK);
        const req = { id: this.nextId++, dir, kind, items: items.slice(from, next) } as BlobRequest;
        const res = await this.send(lane, req);
        if (!res.ok) {
          failure ??= res.code
            ? new ObjectError(res.code, res.message)
            : res.id === 0
              ? new WorkerPoolError(res.message)
              : new Error(res.message);
        } else if (kind === 'put') {
          res.results.forEach((r, i) => (results[from + i] = r));
        }
      }
    };
    await Promise.all(lanes.map(drive));
    if (failure !== null) throw failure;
    signal?.throwIfAborted();
    return results;
  }

  private send(lane: Lane, req: BlobRequest): Promise<BlobResponse> {
    return new Promise((resolve) => {
      lane.pending = resolve;
      lane.worker.ref();
      lane.worker.postMessage(req);
    });
  }

  private start(): Lane[] | null {
    if (this.lanes !== null) return this.lanes;
    if (this.broken) return null;
    try {
      const url = this.script;
      const file = typeof url === 'string' ? url : fileURLToPath(url);
      // Run from TypeScript sources (a loader such as tsx), there is no compiled worker to start.
      if (!existsSync(file)) throw new WorkerPoolError(`no worker script at ${file}`);
      this.lanes = Array.from({ length: this.size }, () => {
        const lane: Lane = { worker: new Worker(url), pending: null };
        lane.worker.on('message', (res: BlobResponse) => {
          const done = lane.pending;
          lane.pending = null;
          // Idle workers must not keep the agent process alive.
          lane.worker.unref();
          done?.(res);
        });
        lane.worker.on('error', (e: Error) => this.fail(lane, e));
        lane.worker.on('exit', () =>
          this.fail(lane, new Error('an object store worker thread exited')),
        );
        lane.worker.unref();
        return lane;
      });
      return this.lanes;
    } catch {
      this.broken = true;
      return null;
    }
  }

  /** A dead worker fails its batch; the pool is not used again (the main thread takes over). */
  private fail(lane: Lane, e: Error): void {
    this.broken = true;
    const others = (this.lanes ?? []).filter((l) => l !== lane);
    this.lanes = null;
    for (const l of others) void l.worker.terminate();
    const done = lane.pending;
    lane.pending = null;
    done?.({ id: 0, ok: false, message: e.message });
  }
}

let shared: BlobWorkers | undefined;

/** The process's pool, created on first use. */
export function blobWorkers(): BlobWorkers {
  return (shared ??= new BlobWorkers());
}
