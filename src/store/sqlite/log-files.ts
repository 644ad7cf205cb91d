// Step output of the embedded store lives in plain files next to the database, one per stage
// attempt (`<db>-logs/<run>/<stage>-<hash>.<attempt>.log`), indexed by SQLite (migration 4: log_index says
// where each chunk's bytes are, log_files how many bytes of each file are indexed). A 100 MB flood
// then costs SQLite a thousand small rows instead of 100 MB of B-tree pages and WAL.
//
// Durability, the same as the database's (WAL, synchronous = NORMAL): a chunk is acknowledged when
// its index row commits, and its bytes are written to the file (the page cache) before that commit,
// so a process that is killed loses no acknowledged line. Bytes written by a transaction that never
// committed lie beyond the indexed size; they are never read, are overwritten by the next append,
// and the file is cut back to its indexed size when this process first opens it for writing.

import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAllAt } from '../../util/write-at.js';

/** Where a slice of a log file is. */
export interface LogSlice {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/** Write descriptors kept open at once (a server appends to many attempts over its life). */
const MAX_OPEN = 32;

export class LogFiles {
  /** Open write descriptors by file (relative path), least recently used first. */
  private readonly fds = new Map<string, number>();
  /** Directories known to exist (a run's: one mkdir per run, not per stage). */
  private readonly dirs = new Set<string>();

  constructor(readonly dir: string) {}

  /**
   * The file of a stage attempt, relative to `dir`: readable, and unique per (run, stage, attempt)
   * whatever the stage path (a hash tells apart paths that read the same once made safe).
   */
  static fileFor(run: number, stage: string, attempt: number): string {
    const readable = stage.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
    const hash = createHash('sha256').update(stage).digest('hex').slice(0, 16);
    return `${run}/${readable}-${hash}.${attempt}.log`;
  }

  /**
   * Writes `parts`, one after another, at `offset` (the file's indexed size). Call inside the write
   * transaction that indexes them, before it commits: writers are serialised by SQLite's write lock,
   * so the indexed size is exact and no other writer is between it and the end of the file.
   */
  write(file: string, offset: number, parts: readonly Buffer[]): void {
    const fd = this.open(file, offset);
    writeAllAt(fd, parts, offset);
  }

  /**
   * The bytes of each slice, in order. A file shorter than its index (possible only after an
   * operating-system crash lost file data the database kept) yields what it has.
   */
  read(slices: readonly LogSlice[]): Buffer[] {
    const out: Buffer[] = [];
    const fds = new Map<string, number | null>();
    try {
      let i = 0;
      while (i < slices.length) {
        // Slices that follow each other in one file (the usual case) are read at once.
        const first = slices[i] as LogSlice;
        let end = first.offset + first.length;
        let j = i + 1;
        for (; j < slices.length; j++) {
          const s = slices[j] as LogSlice;
          if (s.file !== first.file || s.offset !== end || end - first.offset >= 8 * 1024 * 1024)
            break;
          end += s.length;
        }
        let fd = fds.get(first.file);
        if (fd === undefined) {
          fd = openReadable(join(this.dir, first.file));
          fds.set(first.file, fd);
        }
        const buf = Buffer.allocUnsafe(end - first.offset);
        const got = fd === null ? 0 : readFully(fd, buf, first.offset);
        for (let k = i; k < j; k++) {
          const s = slices[k] as LogSlice;
          const from = s.offset - first.offset;
          out.push(buf.subarray(Math.min(from, got), Math.min(from + s.length, got)));
        }
        i = j;
      }
    } finally {
      for (const fd of fds.values()) if (fd !== null) closeSync(fd);
    }
    return out;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private open(file: string, indexed: number): number {
    const cached = this.fds.get(file);
    if (cached !== undefined) {
      this.fds.delete(file);
      this.fds.set(file, cached);
      return cached;
    }
    const path = join(this.dir, file);
    const dir = dirname(path);
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.dirs.add(dir);
    }
    // Not O_APPEND: positioned writes at the indexed size must land there, not at the end.
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      // Bytes past the index were written by a transaction that never committed (a killed process).
      if (fstatSync(fd).size > indexed) ftruncateSync(fd, indexed);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.fds.set(file, fd);
    if (this.fds.size > MAX_OPEN) {
      const [oldest, oldFd] = this.fds.entries().next().value as [string, number];
      this.fds.delete(oldest);
      closeSync(oldFd);
    }
    return fd;
  }
}

function openReadable(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Reads into `buf` from `position` until it is full or the file ends; returns the bytes read. */
function readFully(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
