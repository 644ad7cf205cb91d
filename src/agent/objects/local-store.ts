// The object store in a local directory, shared by every agent on the machine:
//   blobs/sha256/ab/cdef…   immutable blobs, named by the digest of their bytes (see blob-dir.ts)
//   refs/<name>             a digest and a newline, replaced atomically (temp file, fsync, rename)
//   tmp/                    files being written
// Batches of files go to worker threads (blob-workers.ts), or run here in time slices (slices.ts).

import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BlobDir } from './blob-dir.js';
import {
  blobWorkers,
  WORKER_MIN_FILES,
  WorkerPoolError,
  type BlobWorkers,
} from './blob-workers.js';
import { digestHex, isDigest } from './digest.js';
import { errnoCode } from './errors.js';
import { eachInSlices } from './slices.js';
import {
  checkRefName,
  type FileToGet,
  type FileToPut,
  type ObjectStore,
  type PutResult,
} from './store.js';

export interface LocalObjectStoreOptions {
  /** Worker threads for batches of small files; null keeps all work on the calling thread. */
  readonly workers?: BlobWorkers | null;
}

export class LocalObjectStore implements ObjectStore {
  readonly location: string;
  private readonly blobs: BlobDir;
  private readonly refs: string;
  private readonly workers: BlobWorkers | null;

  constructor(dir: string, options: LocalObjectStoreOptions = {}) {
    this.blobs = new BlobDir(dir);
    this.location = this.blobs.dir;
    this.refs = join(this.location, 'refs');
    this.workers = options.workers === undefined ? blobWorkers() : options.workers;
  }

  /** Where a blob lives. */
  blobPath(digest: string): string {
    return this.blobs.blobPath(digest);
  }

  async putFiles(files: readonly FileToPut[], signal?: AbortSignal): Promise<PutResult[]> {
    if (this.useWorkers(files.length)) {
      try {
        return await (this.workers as BlobWorkers).put(this.location, files, signal);
      } catch (e) {
        // A dead pool is not the batch's fault: puts are idempotent, so redo it here.
        if (!(e instanceof WorkerPoolError)) throw e;
      }
    }
    const results: PutResult[] = [];
    await eachInSlices(files, (f) => void results.push(this.blobs.putFile(f)), signal);
    return results;
  }

  async getFiles(files: readonly FileToGet[], signal?: AbortSignal): Promise<void> {
    if (this.useWorkers(files.length)) {
      try {
        return await (this.workers as BlobWorkers).get(this.location, files, signal);
      } catch (e) {
        // Gets are idempotent too (each file is rewritten whole).
        if (!(e instanceof WorkerPoolError)) throw e;
      }
    }
    await eachInSlices(files, (f) => this.blobs.getFile(f), signal);
  }

  putBytes(bytes: Uint8Array): Promise<PutResult> {
    return Promise.resolve().then(() => this.blobs.putBytes(bytes));
  }

  getBytes(digest: string): Promise<Uint8Array | null> {
    return Promise.resolve().then(() => this.blobs.read(digest));
  }

  has(digest: string): Promise<boolean> {
    return Promise.resolve(
      statSync(this.blobPath(digest), { throwIfNoEntry: false }) !== undefined,
    );
  }

  readRef(name: string): Promise<string | null> {
    return Promise.resolve().then(() => {
      let text: string;
      try {
        text = readFileSync(join(this.refs, checkRefName(name)), 'utf8');
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
        throw e;
      }
      const digest = text.trim();
      if (!isDigest(digest))
        throw new Error(`ref ${name} in ${this.location} does not hold a digest`);
      return digest;
    });
  }

  writeRef(name: string, digest: string): Promise<void> {
    return Promise.resolve().then(() => {
      digestHex(digest);
      const path = join(this.refs, checkRefName(name));
      mkdirSync(dirname(path), { recursive: true });
      // A ref is the commit point of a save: make it durable (one fsync per save, not per file).
      this.blobs.land(path, `${digest}\n`, true);
    });
  }

  listRefs(prefix: string): Promise<string[]> {
    return Promise.resolve().then(() => {
      checkRefName(prefix, true);
      const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
      const out: string[] = [];
      const walk = (rel: string): void => {
        let names;
        try {
          names = readdirSync(join(this.refs, base, rel), { withFileTypes: true });
        } catch (e) {
          if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return;
          throw e;
        }
        for (const d of names) {
          const r = rel === '' ? d.name : `${rel}/${d.name}`;
          if (d.isDirectory()) walk(r);
          else if (d.isFile()) out.push(`${base}${r}`);
        }
      };
      walk('');
      return out.sort();
    });
  }

  private useWorkers(files: number): boolean {
    return files >= WORKER_MIN_FILES && this.workers !== null && this.workers.available;
  }
}
