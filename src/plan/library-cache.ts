// The content-addressed cache of fetched libraries: one directory per sha256.

import { homedir } from 'node:os';
import { join } from 'node:path';

export function libraryCacheRoot(): string {
  if (process.env.OTTO_LIBRARY_CACHE) return process.env.OTTO_LIBRARY_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'otto', 'libraries');
}

export function libraryCacheDir(sha256: string): string {
  return join(libraryCacheRoot(), sha256);
}
