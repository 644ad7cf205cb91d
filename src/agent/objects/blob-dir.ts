// The synchronous core of the local object store: one blob directory, used by the store on the
// main thread and by its worker threads (see blob-workers.ts). Layout:
//   blobs/sha256/ab/cdef…   immutable blobs (read-only files), named by the digest of their bytes
//   tmp/                    files being written; each lands by rename(2), so a reader, a concurrent
//                           agent or a crash never sees a half-written blob
// Blobs are not fsynced one by one (that would cost more than the rest of a save): every blob is
// verified against its digest when read, so a blob a power loss left short or garbled is found,
// removed and reported, never restored as if it were good.

import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { digestHex, digestOf } from './digest.js';
import { ObjectError, errnoCode } from './errors.js';
import { openForRestore, writeRestoredFile } from './local-file.js';
import type { FileToGet, FileToPut, PutResult } from './store.js';

/** Files larger than this are hashed and copied in chunks instead of read whole. */
export const LARGE_FILE = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Temp files older than this are left over from a crash and are removed. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export class BlobDir {
  readonly dir: string;
  private readonly blobs: string;
  private readonly tmp: string;
  private readonly tmpPrefix = `${process.pid}-${randomBytes(6).toString('hex')}-`;
  private tmpCount = 0;
  private tmpReady = false;
  /** Fan-out directories known to exist. */
  private readonly dirs = new Set<string>();

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.blobs = join(this.dir, 'blobs', 'sha256');
    this.tmp = join(this.dir, 'tmp');
  }

  /** Where a blob lives (the digest is checked: it becomes a file name). */
  blobPath(digest: string): string {
    return this.blobFile(digestHex(digest));
  }

  private blobFile(hex: string): string {
    return `${this.blobs}/${hex.slice(0, 2)}/${hex.slice(2)}`;
  }

  /** Whether a blob of this digest and size is already stored (the size catches one a crash emptied). */
  private holds(path: string, size: number): boolean {
    return statSync(path, { throwIfNoEntry: false })?.size === size;
  }

  /** Stores bytes unless a blob of that digest and size is already there. */
  putBytes(bytes: Uint8Array): PutResult {
    const digest = digestOf(bytes);
    const path = this.blobFile(digest.slice('sha256:'.length));
    if (this.holds(path, bytes.length)) return { digest, size: bytes.length, written: false };
    this.fanout(path);
    this.land(path, bytes, false);
    return { digest, size: bytes.length, written: true };
  }

  /** Stores a local file; its mode comes from the descriptor its bytes are read through. */
  putFile(file: FileToPut): PutResult {
    const fd = openSync(file.path, 'r');
    try {
      const st = fstatSync(fd);
      const mode = st.mode & 0o7777;
      if (st.size > LARGE_FILE) return { ...this.putLarge(fd), mode };
      const bytes = readFully(fd, st.size);
      return { ...this.putBytes(bytes), mode };
    } finally {
      closeSync(fd);
    }
  }

  /** Hashes first (nothing written when the blob is there), then copies, hashing what it copies. */
  private putLarge(fd: number): PutResult {
    const first = hashFd(fd, null);
    const known = this.blobFile(first.digest.slice('sha256:'.length));
    if (this.holds(known, first.size)) return { ...first, written: false };
    const tmp = this.tempPath();
    try {
      const out = openSync(tmp, 'w', 0o444);
      let copied: { digest: string; size: number };
      try {
        copied = hashFd(fd, out);
      } finally {
        closeSync(out);
      }
      // The file may have changed since it was hashed: the blob is named by what was copied.
      const path = this.blobFile(copied.digest.slice('sha256:'.length));
      this.fanout(path);
      renameSync(tmp, path);
      return { ...copied, written: true };
    } catch (e) {
      removeQuietly(tmp);
      throw e;
    }
  }

  /** The blob's bytes, verified; null when absent. A blob that fails verification is removed. */
  read(digest: string): Buffer | null {
    const path = this.blobPath(digest);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
    if (digestOf(bytes) !== digest) throw this.damaged(digest, path);
    return bytes;
  }

  /** Writes a blob into a local file (never through a link there), verifying it on the way. */
  getFile(file: FileToGet): void {
    if (file.size <= LARGE_FILE) {
      const bytes = this.read(file.digest);
      if (bytes === null) throw missingBlob(file.digest);
      writeRestoredFile(file.path, bytes, file.mode);
      return;
    }
    const path = this.blobPath(file.digest);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw missingBlob(file.digest);
      throw e;
    }
    try {
      const out = openForRestore(file.path, file.mode);
      let copied: { digest: string };
      try {
        copied = hashFd(fd, out);
      } finally {
        closeSync(out);
      }
      if (copied.digest !== file.digest) throw this.damaged(file.digest, path);
    } finally {
      closeSync(fd);
    }
  }

  private damaged(digest: string, path: string): ObjectError {
    removeQuietly(path);
    return corruptBlob(digest, this.dir);
  }

  /** Makes the fan-out directory a blob goes in. */
  fanout(path: string): void {
    const dir = dirname(path);
    if (this.dirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.dirs.add(dir);
  }

  /** Writes a temp file (read-only) and renames it onto `path`; `durable` fsyncs file and directory. */
  land(path: string, data: Uint8Array | string, durable: boolean): void {
    const tmp = this.tempPath();
    try {
      if (durable) {
        const fd = openSync(tmp, 'w', 0o444);
        try {
          writeFileSync(fd, data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } else {
        writeFileSync(tmp, data, { mode: 0o444 });
      }
      renameSync(tmp, path);
    } catch (e) {
      removeQuietly(tmp);
      throw e;
    }
    if (durable) syncDir(dirname(path));
  }

  tempPath(): string {
    if (!this.tmpReady) {
      mkdirSync(this.tmp, { recursive: true });
      this.sweepTemp();
      this.tmpReady = true;
    }
    return `${this.tmp}/${this.tmpPrefix}${this.tmpCount++}`;
  }

  /** Removes temp files a crashed writer left (old enough that no live writer owns them). */
  private sweepTemp(): void {
    const now = Date.now();
    for (const name of readdirSync(this.tmp)) {
      const p = join(this.tmp, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st !== undefined && now - st.mtimeMs > STALE_TEMP_MS) removeQuietly(p);
    }
  }
}

/** Reads up to `size` bytes from the start of `fd` (fewer if the file shrank meanwhile). */
function readFully(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return got === size ? buf : buf.subarray(0, got);
}

/** sha256 of the whole of `fd` from its start, copying into `out` when given. */
function hashFd(fd: number, out: number | null): { digest: string; size: number } {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, pos);
    if (n === 0) break;
    const chunk = buf.subarray(0, n);
    hash.update(chunk);
    if (out !== null) {
      let written = 0;
      while (written < n) written += writeSync(out, chunk, written, n - written);
    }
    pos += n;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size: pos };
}

export function missingBlob(digest: string): ObjectError {
  return new ObjectError('missing-blob', `the object store has no blob ${digest}`);
}

export function corruptBlob(digest: string, location: string): ObjectError {
  return new ObjectError(
    'corrupt-blob',
    `blob ${digest} in ${location} was damaged (its bytes no longer match its digest) and has been removed`,
  );
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
