// A tree of files in the object store: each file a blob, plus a manifest blob listing them.
//
// Manifest (`otto.tree/v1`, JSON, entries sorted by path, so the same files give the same digest):
//   { "format": "otto.tree/v1", "files": 2, "size": 1234, "entries": [
//       { "path": "bin/run", "type": "file", "mode": "0755", "size": 1200, "digest": "sha256:…" },
//       { "path": "bin/r", "type": "link", "target": "run" },
//       { "path": "empty", "type": "dir", "mode": "0755" } ] }
// Paths are relative and '/'-separated; directories appear only when empty; links are stored, not
// followed. Restoring never writes through a link and never outside the workspace.

import { chmodSync, lstatSync, mkdirSync, realpathSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isDigest } from './digest.js';
import { ObjectError } from './errors.js';
import { isInside } from './paths.js';
import { eachInSlices, Slicer } from './slices.js';
import type { FileToGet, ObjectStore } from './store.js';
import type { WalkEntry } from './walk.js';

export const TREE_FORMAT = 'otto.tree/v1';

export type TreeEntry =
  | {
      readonly path: string;
      readonly type: 'file';
      readonly mode: string;
      readonly size: number;
      readonly digest: string;
    }
  | { readonly path: string; readonly type: 'link'; readonly target: string }
  | { readonly path: string; readonly type: 'dir'; readonly mode: string };

export interface TreeManifest {
  readonly format: typeof TREE_FORMAT;
  /** Number of file entries. */
  readonly files: number;
  /** Bytes of all files. */
  readonly size: number;
  readonly entries: readonly TreeEntry[];
}

/** A walked entry and its path in the tree. */
export interface TreeItem {
  readonly entry: WalkEntry;
  readonly path: string;
}

export interface SavedTree {
  readonly digest: string;
  readonly files: number;
  readonly size: number;
  /** Blobs the store did not hold yet, and their bytes. */
  readonly newFiles: number;
  readonly newBytes: number;
}

/** Stores the walked entries, each under `path` (its name in the tree). */
export async function saveTree(
  store: ObjectStore,
  items: readonly TreeItem[],
  signal?: AbortSignal,
): Promise<SavedTree> {
  // A tree never names its own root (an empty directory saved as '.').
  items = items.filter((i) => i.path !== '');
  const files = items.filter((i) => i.entry.type === 'file');
  const put = await store.putFiles(
    files.map((i) => ({ path: i.entry.abs })),
    signal,
  );
  const entries: TreeEntry[] = [];
  let size = 0;
  let newFiles = 0;
  let newBytes = 0;
  files.forEach((item, n) => {
    const r = put[n];
    if (r === undefined || item.entry.type !== 'file') return;
    size += r.size;
    if (r.written) {
      newFiles++;
      newBytes += r.size;
    }
    entries.push({
      path: item.path,
      type: 'file',
      mode: octal(r.mode ?? 0o644),
      size: r.size,
      digest: r.digest,
    });
  });
  for (const { entry, path } of items) {
    if (entry.type === 'link') entries.push({ path, type: 'link', target: entry.target });
    else if (entry.type === 'dir') entries.push({ path, type: 'dir', mode: octal(entry.mode) });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: TreeManifest = { format: TREE_FORMAT, files: files.length, size, entries };
  const saved = await store.putBytes(Buffer.from(JSON.stringify(manifest)));
  return { digest: saved.digest, files: files.length, size, newFiles, newBytes };
}

/** The manifest a digest names, or null when the store does not hold it. */
export async function loadTree(store: ObjectStore, digest: string): Promise<TreeManifest | null> {
  const bytes = await store.getBytes(digest);
  if (bytes === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new ObjectError('bad-manifest', `blob ${digest} is not a tree manifest (not JSON)`, {
      cause: e,
    });
  }
  return checkManifest(doc, digest);
}

function checkManifest(doc: unknown, digest: string): TreeManifest {
  const bad = (why: string): ObjectError =>
    new ObjectError('bad-manifest', `tree manifest ${digest}: ${why}`);
  const m = doc as Partial<TreeManifest> | null;
  if (m?.format !== TREE_FORMAT) throw bad(`format is not ${TREE_FORMAT}`);
  if (!Array.isArray(m.entries)) throw bad('entries is not a list');
  const seen = new Set<string>();
  for (const e of m.entries as readonly Partial<Record<string, unknown>>[]) {
    const path = e?.path;
    if (typeof path !== 'string' || !safePath(path))
      throw bad(`unsafe path ${JSON.stringify(path)}`);
    if (seen.has(path)) throw bad(`'${path}' appears twice`);
    seen.add(path);
    const ok =
      (e.type === 'file' && isMode(e.mode) && isDigest(e.digest) && typeof e.size === 'number') ||
      (e.type === 'link' && typeof e.target === 'string' && e.target !== '') ||
      (e.type === 'dir' && isMode(e.mode));
    if (!ok) throw bad(`entry '${path}' is malformed`);
  }
  return m as TreeManifest;
}

/** Relative, '/'-separated, no empty, '.' or '..' segment. */
function safePath(p: string): boolean {
  return (
    p !== '' &&
    !p.startsWith('/') &&
    p.split('/').every((s) => s !== '' && s !== '.' && s !== '..') &&
    !p.includes('\0')
  );
}

function isMode(x: unknown): x is string {
  return typeof x === 'string' && /^0[0-7]{3}$/.test(x);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Restores a tree into `dest` (a real path inside `root`, the workspace's real path): directories
 * first, then files (through the store, in one batch), then links and empty directories.
 */
export async function restoreTree(
  store: ObjectStore,
  manifest: TreeManifest,
  root: string,
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  const dirs = new DirMaker(root);
  dirs.ensure(dest);
  const files: FileToGet[] = [];
  const later: TreeEntry[] = [];
  const slicer = new Slicer(signal);
  for (const e of manifest.entries) {
    const abs = `${dest}/${e.path}`;
    const slash = abs.lastIndexOf('/');
    dirs.ensure(abs.slice(0, slash));
    if (e.type === 'file')
      files.push({ digest: e.digest, path: abs, mode: parseInt(e.mode, 8), size: e.size });
    else later.push(e);
    await slicer.step();
  }
  await store.getFiles(files, signal);
  await eachInSlices(
    later,
    (e) => {
      const abs = `${dest}/${e.path}`;
      if (e.type === 'dir') {
        dirs.ensure(abs);
        chmodSync(abs, parseInt(e.mode, 8));
      } else if (e.type === 'link') {
        if (!isInside(root, resolve(dirname(abs), e.target))) {
          throw new ObjectError(
            'outside-workspace',
            `'${e.path}' would be a symbolic link to '${e.target}', outside the workspace; not restored`,
          );
        }
        replaceWithLink(abs, e.target);
      }
    },
    signal,
  );
}

function replaceWithLink(abs: string, target: string): void {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st?.isDirectory())
    throw new ObjectError('conflict', `cannot restore the link ${abs}: a directory is in the way`);
  if (st !== undefined) unlinkSync(abs);
  symlinkSync(target, abs);
}

/**
 * Creates directories inside the workspace, checking each existing component: a symbolic link is
 * followed only when it leads to a directory inside the workspace, so a restore never lands outside.
 */
class DirMaker {
  private readonly ok = new Set<string>();

  constructor(private readonly root: string) {
    this.ok.add(root);
  }

  ensure(abs: string): void {
    if (this.ok.has(abs)) return;
    if (!isInside(this.root, abs)) {
      throw new ObjectError('outside-workspace', `${abs} is outside the workspace ${this.root}`);
    }
    this.ensure(dirname(abs));
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) {
      mkdirSync(abs);
    } else if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = realpathSync(abs);
      } catch (e) {
        throw new ObjectError(
          'conflict',
          `cannot restore into ${abs}: it is a symbolic link that leads nowhere`,
          { cause: e },
        );
      }
      if (!isInside(this.root, real)) {
        throw new ObjectError(
          'outside-workspace',
          `${abs} is a symbolic link to ${real}, outside the workspace; nothing is restored through it`,
        );
      }
      if (!lstatSync(real).isDirectory())
        throw new ObjectError('conflict', `cannot restore into ${abs}: it is not a directory`);
    } else if (!st.isDirectory()) {
      throw new ObjectError('conflict', `cannot restore into ${abs}: a file is in the way`);
    }
    this.ok.add(abs);
  }
}
