// Resolves remote `use` entries through otto.lock and the content-addressed library cache.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RemoteResolver } from '../lang/index.js';
import { libraryCacheDir } from './library-cache.js';

export interface LockEntry {
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
    return json;
  } catch (e) {
    return { error: `${path} is not valid JSON: ${(e as Error).message}` };
  }
}

/** A resolver that never touches the network: pinned and fetched, or a diagnostic. */
export function lockResolver(pipelineFile: string): RemoteResolver {
  const lockPath = lockPathFor(pipelineFile);
  const lock = readLock(lockPath);
  return (url) => {
    if (lock === undefined) return { error: `remote library '${url}' is not pinned: there is no otto.lock`, help: 'run `otto lock` to fetch remote libraries and pin their sha256' };
    if ('error' in lock) return { error: lock.error, help: 'fix or delete otto.lock, then run `otto lock`' };
    const entry = lock.libraries[url];
    if (!entry) return { error: `remote library '${url}' is not pinned in otto.lock`, help: 'run `otto lock` to fetch it and pin its sha256' };
    const dir = libraryCacheDir(entry.sha256);
    if (!existsSync(join(dir, '.otto-verified'))) {
      return { error: `remote library '${url}' is pinned but not in the library cache`, help: 'run `otto lock` to fetch it (check, explain and run never use the network)' };
    }
    return { path: join(dir, 'content') };
  };
}
