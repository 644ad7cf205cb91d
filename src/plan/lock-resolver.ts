// Reads and writes otto.lock, and resolves remote `use` entries through it and the library cache without the network.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RemoteResolver } from '../lang/index.js';
import { verifyCacheEntry } from './library-cache.js';

export interface LockEntry {
  /** sha256 of the tarball's bytes, or the tree digest of the exported git directory. */
  readonly sha256: string;
  readonly kind: 'tarball' | 'git';
  /** For git entries: the commit the ref resolved to. */
  readonly commit?: string;
}

export interface LockFile {
  readonly lockVersion: 1;
  readonly libraries: Readonly<Record<string, LockEntry>>;
}

export function lockPathFor(pipelineFile: string): string {
  return join(dirname(pipelineFile), 'otto.lock');
}

export function readLock(path: string): LockFile | { error: string } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as LockFile;
    if (json.lockVersion !== 1 || typeof json.libraries !== 'object' || json.libraries === null) {
      return { error: `${path} is not an otto.lock of version 1` };
    }
    for (const [url, e] of Object.entries(json.libraries)) {
      if (
        typeof e !== 'object' ||
        e === null ||
        typeof e.sha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(e.sha256)
      ) {
        return { error: `${path}: the entry for '${url}' has no valid sha256` };
      }
    }
    return json;
  } catch (e) {
    return { error: `${path} is not valid JSON: ${(e as Error).message}` };
  }
}

/** The bytes of otto.lock: sorted keys, 2-space indent, trailing newline — the same lock is the same file. */
export function formatLock(lock: LockFile): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => [k, sortKeys(o[k])]),
  );
}

/** Writes otto.lock through a rename, and not at all when its bytes would not change. */
export function writeLock(path: string, lock: LockFile): boolean {
  const text = formatLock(lock);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return true;
}

export type PinnedResolution =
  | { readonly path: string }
  | {
      readonly error: string;
      readonly help: string;
      readonly reason: 'no-lock' | 'bad-lock' | 'unpinned' | 'not-cached' | 'tampered';
    };

/** Where a pinned library's verified content is, or why it cannot be used. */
export function resolvePinned(
  url: string,
  lock: LockFile | { error: string } | undefined,
  lockCommand = 'otto lock',
): PinnedResolution {
  const run = `run \`${lockCommand}\``;
  if (lock === undefined) {
    return {
      reason: 'no-lock',
      error: `remote library '${url}' is not pinned: there is no otto.lock`,
      help: `${run} to fetch remote libraries and pin their sha256`,
    };
  }
  if ('error' in lock)
    return {
      reason: 'bad-lock',
      error: lock.error,
      help: `fix or delete otto.lock, then ${run}`,
    };
  const entry = lock.libraries[url];
  if (!entry)
    return {
      reason: 'unpinned',
      error: `remote library '${url}' is not pinned in otto.lock`,
      help: `${run} to fetch it and pin its sha256`,
    };
  const state = verifyCacheEntry(entry.sha256);
  if (state.ok) return { path: state.content };
  if (state.reason === 'tampered') {
    return {
      reason: 'tampered',
      error: `remote library '${url}' was changed in the library cache after it was fetched (${state.detail})`,
      help: `${run} to fetch it again; it replaces the damaged copy`,
    };
  }
  return {
    reason: 'not-cached',
    error: `remote library '${url}' is pinned but not in the library cache`,
    help: `${run} to fetch it (check, explain and run never use the network)`,
  };
}

/** A resolver that never touches the network: pinned, fetched and unchanged, or a diagnostic. */
export function lockResolver(pipelineFile: string): RemoteResolver {
  const lock = readLock(lockPathFor(pipelineFile));
  const command = lockCommandFor(pipelineFile);
  // A library used by several files is verified once per load.
  const seen = new Map<string, PinnedResolution>();
  return (url) => {
    let r = seen.get(url);
    if (!r) seen.set(url, (r = resolvePinned(url, lock, command)));
    return 'path' in r ? { path: r.path } : { error: r.error, help: r.help };
  };
}

/** The exact command that locks this pipeline, for help lines: `otto lock` for ./Ottofile. */
export function lockCommandFor(pipelineFile: string): string {
  if (pipelineFile === 'Ottofile' || pipelineFile === './Ottofile' || pipelineFile === '-')
    return 'otto lock';
  return `otto lock ${/^[\w./@+-]+$/.test(pipelineFile) ? pipelineFile : `'${pipelineFile.replace(/'/g, "'\\''")}'`}`;
}
