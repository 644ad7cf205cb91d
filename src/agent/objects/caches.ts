// Caches: files saved under a key and restored by a later stage or run of the same project.
//
// The key is the sha256 of the JSON ["otto.cache/v1", project, name, [[keyFile, digest|null], …]]
// with the key files sorted by path (null for a key file that does not exist). The ref is
// `caches/<project>/<name>/<key>`; a restore looks up exactly that key, and a miss is not an error.
// A stage that restores a cache saves it under the key it restored with, computed before its steps
// ran: a step that rewrites a key file (an install updating a lock file) must not move the key away
// from what the next run, starting from the same sources, will look up.

import { lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CacheRestoreOp, CacheSaveOp } from '../object-ops.js';
import { digestFile, digestOf } from './digest.js';
import { ObjectError } from './errors.js';
import { filesAndSize, formatCount, formatSize } from './format.js';
import { relativeSegments, resolveExisting } from './paths.js';
import type { OpScope } from './scope.js';
import { refName, type ObjectStore } from './store.js';
import { loadTree, restoreTree, saveTree } from './tree.js';
import { Walker } from './walk.js';

export const CACHE_KEY_FORMAT = 'otto.cache/v1';

/** The cache key (64 hex digits) from the project, the cache's name and its key files' contents. */
export async function cacheKey(
  root: string,
  project: string,
  name: string,
  keyFiles: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  const files = [...new Set(keyFiles)].sort();
  const parts: [string, string | null][] = [];
  for (const file of files) {
    const abs = resolveExisting(root, file, `cache ${name}: key file`);
    if (abs !== null && lstatSync(abs).isDirectory()) {
      throw new ObjectError(
        'bad-pattern',
        `cache ${name}: key file '${file}' is a directory; a key names files`,
      );
    }
    parts.push([file, abs === null ? null : (await digestFile(abs, signal)).digest]);
  }
  return digestOf(JSON.stringify([CACHE_KEY_FORMAT, project, name, parts])).slice('sha256:'.length);
}

export function cacheRef(project: string, name: string, key: string): string {
  return refName('caches', project, name, key);
}

/** Restores the cache if its key is stored; returns the key either way. */
export async function restoreCache(
  store: ObjectStore,
  op: CacheRestoreOp,
  scope: OpScope,
): Promise<RestoredCache> {
  const key = await cacheKey(scope.root, scope.project, op.name, op.keyFiles, scope.signal);
  const digest = await store.readRef(cacheRef(scope.project, op.name, key));
  if (digest === null) {
    scope.log.push(`cache ${op.name}: miss`);
    return { key, hit: false };
  }
  try {
    const manifest = await loadTree(store, digest);
    if (manifest === null) {
      scope.log.push(`cache ${op.name}: miss (its manifest is gone from the object store)`);
      return { key, hit: false };
    }
    await restoreTree(store, manifest, scope.root, scope.root, scope.signal);
    // Written again, the ref says when the cache was last used: garbage collection (gc.ts) expires
    // caches by that, and a keyed hit is not saved again.
    await store.writeRef(cacheRef(scope.project, op.name, key), digest);
    scope.log.push(`cache ${op.name}: hit, ${filesAndSize(manifest.files, manifest.size)}`);
    return { key, hit: true };
  } catch (e) {
    // A damaged cache is a miss: the stage rebuilds what it needs, and the next save repairs it.
    if (
      e instanceof ObjectError &&
      (e.code === 'corrupt-blob' || e.code === 'missing-blob' || e.code === 'bad-manifest')
    ) {
      scope.log.push(
        `cache ${op.name}: miss (${e.message}; files restored before it are left in place)`,
      );
      return { key, hit: false };
    }
    throw e;
  }
}

/** What a restore found: the key it looked under, and whether a cache was there. */
export interface RestoredCache {
  readonly key: string;
  readonly hit: boolean;
}

/**
 * Saves the cache under the key it was restored under, or under the key its key files give now.
 * A keyed cache that was restored by an exact hit is not saved again: its key says its content
 * is what is stored already (what changes beside that, logs and timestamps, is noise). A cache
 * without key files has one key, and is saved after every successful stage so it can grow.
 */
export async function saveCache(
  store: ObjectStore,
  op: CacheSaveOp,
  scope: OpScope,
  restored?: RestoredCache,
): Promise<void> {
  if (restored?.hit === true && op.keyFiles.length > 0) {
    scope.log.push(`cache ${op.name}: restored by its key, not saved again`);
    return;
  }
  const walker = new Walker({ root: scope.root, exclude: scope.exclude, signal: scope.signal });
  for (const path of op.paths) {
    const segments = relativeSegments(path, `cache ${op.name}: path`);
    // The parent is resolved (links and all) and must be inside; the last segment is taken as it
    // is, so a link there is stored as a link.
    const parent = resolveExisting(
      scope.root,
      dirname(segments.join('/') || '.'),
      `cache ${op.name}: path`,
    );
    const abs =
      parent === null
        ? null
        : segments.length === 0
          ? scope.root
          : join(parent, segments.at(-1) as string);
    if (abs === null || lstatSync(abs, { throwIfNoEntry: false }) === undefined) {
      scope.log.push(`cache ${op.name}: '${path}' is not in the workspace; skipped`);
      continue;
    }
    await walker.add(abs, segments.join('/'));
  }
  if (walker.entries.length === 0) {
    scope.log.push(`cache ${op.name}: nothing to save`);
    return;
  }
  const key =
    restored?.key ?? (await cacheKey(scope.root, scope.project, op.name, op.keyFiles, scope.signal));
  const items = walker.entries.map((entry) => ({ entry, path: entry.rel }));
  const saved = await saveTree(store, items, scope.signal);
  await store.writeRef(cacheRef(scope.project, op.name, key), saved.digest);
  const fresh =
    saved.newFiles === 0
      ? 'no new files'
      : `${formatCount(saved.newFiles, 'new file')}, ${formatSize(saved.newBytes)} written`;
  scope.log.push(`cache ${op.name}: saved, ${filesAndSize(saved.files, saved.size)} (${fresh})`);
}
