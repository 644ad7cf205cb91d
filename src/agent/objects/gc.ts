// Garbage collection of a local object store (see local-store.ts for the layout). Refs expire by
// age — an artifact's ref is written once, when it is archived; a cache's is rewritten whenever the
// cache is saved or restored, so its age is the time since it was last used — and then every blob
// no remaining ref reaches is removed. A blob written less than `graceMs` ago is kept whatever
// reaches it: a save writes its blobs first and its ref last, and may be halfway through.

import { readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { isDigest } from './digest.js';
import { errnoCode } from './errors.js';
import { TREE_FORMAT } from './tree.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface GcPolicy {
  /** Artifacts archived longer ago than this many days go; 0 keeps them for good. */
  readonly artifactDays: number;
  /** Caches not saved or restored for this many days go; 0 keeps them for good. */
  readonly cacheDays: number;
  /** Unreferenced blobs younger than this are kept (a save in progress). Default 1 hour. */
  readonly graceMs?: number;
  /** Report what would go, remove nothing. */
  readonly dryRun?: boolean;
  readonly now?: number;
}

export interface GcReport {
  readonly artifactsRemoved: number;
  readonly cachesRemoved: number;
  readonly blobsRemoved: number;
  readonly bytesRemoved: number;
  readonly blobsKept: number;
  readonly bytesKept: number;
}

interface Ref {
  readonly name: string;
  readonly path: string;
  readonly mtimeMs: number;
}

/** Collects the garbage of the object store in `dir` (which may not exist yet). */
export function collectGarbage(dir: string, policy: GcPolicy): GcReport {
  const now = policy.now ?? Date.now();
  const graceMs = policy.graceMs ?? 60 * 60 * 1000;
  const refsDir = join(dir, 'refs');
  let artifactsRemoved = 0;
  let cachesRemoved = 0;
  const roots: string[] = [];
  for (const ref of listRefs(refsDir)) {
    const days = ref.name.startsWith('runs/') ? policy.artifactDays : ref.name.startsWith('caches/') ? policy.cacheDays : 0;
    if (days > 0 && now - ref.mtimeMs > days * DAY_MS) {
      if (ref.name.startsWith('runs/')) artifactsRemoved++;
      else cachesRemoved++;
      if (!policy.dryRun) removeQuietly(ref.path);
      continue;
    }
    const digest = readDigest(ref.path);
    if (digest !== null) roots.push(digest);
  }
  // Old runs' ref directories are never written again; caches' may be at any moment (a save makes
  // the directory, then renames its ref into it), so theirs stay.
  if (!policy.dryRun) removeEmptyDirs(join(refsDir, 'runs'), false);

  const blobsDir = join(dir, 'blobs', 'sha256');
  const reached = new Set<string>();
  for (const root of roots) {
    reached.add(root);
    for (const d of treeDigests(blobFile(blobsDir, root))) reached.add(d);
  }

  let blobsRemoved = 0;
  let bytesRemoved = 0;
  let blobsKept = 0;
  let bytesKept = 0;
  for (const fan of readdirQuietly(blobsDir)) {
    for (const rest of readdirQuietly(join(blobsDir, fan))) {
      const path = join(blobsDir, fan, rest);
      const st = statSync(path, { throwIfNoEntry: false });
      if (st === undefined || !st.isFile()) continue;
      if (reached.has(`sha256:${fan}${rest}`) || now - st.mtimeMs < graceMs) {
        blobsKept++;
        bytesKept += st.size;
        continue;
      }
      blobsRemoved++;
      bytesRemoved += st.size;
      if (!policy.dryRun) removeQuietly(path);
    }
  }
  return { artifactsRemoved, cachesRemoved, blobsRemoved, bytesRemoved, blobsKept, bytesKept };
}

function listRefs(refsDir: string): Ref[] {
  const out: Ref[] = [];
  const walk = (rel: string): void => {
    for (const d of readdirQuietly(join(refsDir, rel), true)) {
      const name = rel === '' ? d.name : `${rel}/${d.name}`;
      const path = join(refsDir, name);
      if (d.isDirectory()) walk(name);
      else if (d.isFile()) {
        const st = statSync(path, { throwIfNoEntry: false });
        if (st !== undefined) out.push({ name, path, mtimeMs: st.mtimeMs });
      }
    }
  };
  walk('');
  return out;
}

function readDigest(path: string): string | null {
  try {
    const digest = readFileSync(path, 'utf8').trim();
    return isDigest(digest) ? digest : null;
  } catch {
    return null;
  }
}

function blobFile(blobsDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(blobsDir, hex.slice(0, 2), hex.slice(2));
}

/** The blobs a tree manifest lists; none when the blob is not one (or is gone). */
function treeDigests(path: string): string[] {
  let doc: { format?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch {
    return [];
  }
  if (doc?.format !== TREE_FORMAT || !Array.isArray(doc.entries)) return [];
  const out: string[] = [];
  for (const e of doc.entries as Array<{ type?: unknown; digest?: unknown }>) {
    if (e?.type === 'file' && typeof e.digest === 'string' && isDigest(e.digest)) out.push(e.digest);
  }
  return out;
}

function readdirQuietly(dir: string): string[];
function readdirQuietly(dir: string, withTypes: true): Dirent[];
function readdirQuietly(dir: string, withTypes = false): Array<string | Dirent> {
  try {
    return withTypes ? readdirSync(dir, { withFileTypes: true }) : readdirSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
}

/** Removes the directories under `dir` left empty by removed refs (and `dir` itself when `remove`). */
function removeEmptyDirs(dir: string, remove: boolean): void {
  for (const d of readdirQuietly(dir, true)) if (d.isDirectory()) removeEmptyDirs(join(dir, d.name), true);
  if (!remove) return;
  try {
    rmdirSync(dir);
  } catch {
    // not empty (or being written to): kept
  }
}
