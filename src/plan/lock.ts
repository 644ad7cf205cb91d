// `otto lock` without the CLI: fetch every remote library a pipeline uses, pin it by content, and check pins.

import { join } from 'node:path';
import { isRemoteUse, literal, loadProgram, type Program } from '../lang/index.js';
import {
  commitStaging,
  createStaging,
  discardStaging,
  libraryCacheRoot,
  sha256,
  treeDigest,
  verifyCacheEntry,
} from './library-cache.js';
import { LibraryError } from './library-error.js';
import { exportGit, isGitUse, parseGitUse } from './library-git.js';
import { downloadTarball, unpackTarball } from './library-tarball.js';
import {
  lockCommandFor,
  lockPathFor,
  readLock,
  resolvePinned,
  writeLock,
  type LockEntry,
  type LockFile,
} from './lock-resolver.js';

export interface LockProblem {
  readonly message: string;
  readonly help: string;
}

export interface LockResult {
  /** The libraries as pinned now (written to otto.lock unless there are problems or this is a check). */
  readonly entries: Readonly<Record<string, LockEntry>>;
  /** One line per library, sorted by URL: pinned / already pinned / updated / removed. */
  readonly messages: readonly string[];
  readonly problems: readonly LockProblem[];
  readonly lockPath: string;
  readonly wrote: boolean;
}

export interface LockOptions {
  /** Re-resolve git refs and download tarballs again, even when pinned and cached. */
  readonly update?: boolean;
}

type Status = 'pinned' | 'already' | 'refetched' | 'updated';

interface Resolved {
  readonly entry: LockEntry;
  readonly path: string;
  readonly status: Status;
  readonly previous?: string;
}

/**
 * Loads the pipeline again and again, each time with the libraries fetched so far, until no new
 * remote entry turns up: a fetched blueprint may itself use remote libraries.
 */
export async function lockPipeline(file: string, options: LockOptions = {}): Promise<LockResult> {
  const lockPath = lockPathFor(file);
  const old = readLock(lockPath);
  if (old && 'error' in old)
    return {
      entries: {},
      messages: [],
      problems: [
        { message: old.error, help: 'fix or delete otto.lock, then run `otto lock` again' },
      ],
      lockPath,
      wrote: false,
    };
  const resolved = new Map<string, Resolved>();
  const problems: LockProblem[] = [];
  const failed = new Set<string>();
  for (;;) {
    const used = remoteUses(file, (url) => resolved.get(url)?.path);
    const todo = [...used].filter((u) => !resolved.has(u) && !failed.has(u)).sort();
    if (todo.length === 0) break;
    for (const url of todo) {
      try {
        resolved.set(url, await resolveOne(url, old?.libraries[url], options.update === true));
      } catch (e) {
        failed.add(url);
        if (e instanceof LibraryError) problems.push({ message: e.message, help: e.help });
        else if (typeof (e as NodeJS.ErrnoException).code === 'string') {
          // The file system, not the library: an unwritable or full cache directory.
          problems.push({
            message: `cannot store '${url}' in the library cache: ${(e as Error).message}`,
            help: `check that ${libraryCacheRoot()} is writable (set OTTO_LIBRARY_CACHE to use another directory)`,
          });
        } else throw e;
      }
    }
  }
  const entries = Object.fromEntries(
    [...resolved].sort(([a], [b]) => (a < b ? -1 : 1)).map(([u, r]) => [u, r.entry]),
  );
  const messages = [...resolved].map(([url, r]) => message(url, r));
  // After a failure the pipeline's libraries are not all known, so nothing counts as unused.
  if (problems.length === 0) {
    for (const url of Object.keys(old?.libraries ?? {}))
      if (!resolved.has(url)) messages.push(`removed ${url} (no longer used)`);
  }
  messages.sort((a, b) => (urlOf(a) < urlOf(b) ? -1 : 1));
  if (problems.length > 0) return { entries, messages, problems, lockPath, wrote: false };
  // No remote library and no lock: nothing to pin, and no empty otto.lock to commit.
  const wrote =
    old === undefined && resolved.size === 0
      ? false
      : writeLock(lockPath, { lockVersion: 1, libraries: entries });
  return { entries, messages, problems, lockPath, wrote };
}

/** Every remote entry the pipeline reaches, given where the libraries fetched so far are. */
function remoteUses(file: string, pathOf: (url: string) => string | undefined): Set<string> {
  const used = new Set<string>();
  loadProgram(file, {
    resolveRemote: (url) => {
      used.add(url);
      const path = pathOf(url);
      return path === undefined ? { error: 'not fetched yet', help: '' } : { path };
    },
  });
  return used;
}

async function resolveOne(
  url: string,
  pinned: LockEntry | undefined,
  update: boolean,
): Promise<Resolved> {
  if (pinned && !update) {
    const state = verifyCacheEntry(pinned.sha256);
    if (state.ok) return { entry: pinned, path: state.content, status: 'already' };
    // Missing or damaged: fetch exactly the pinned content again, and refuse anything else.
    const got = await fetchLibrary(url, pinned.commit);
    if (got.entry.sha256 !== pinned.sha256) {
      throw new LibraryError(
        `'${url}' changed since it was pinned: otto.lock has sha256:${short(pinned.sha256)}, the source now gives sha256:${short(got.entry.sha256)}`,
        'if the change is expected, run `otto lock --update` to pin the new content',
      );
    }
    return { entry: pinned, path: got.path, status: 'refetched' };
  }
  const got = await fetchLibrary(url, undefined);
  if (!pinned) return { ...got, status: 'pinned' };
  if (got.entry.sha256 === pinned.sha256 && got.entry.commit === pinned.commit)
    return { ...got, status: 'already' };
  return { ...got, status: 'updated', previous: pinned.sha256 };
}

/** Fetches a library into the cache; `commit` pins a git library to the commit in otto.lock. */
async function fetchLibrary(
  url: string,
  commit: string | undefined,
): Promise<{ entry: LockEntry; path: string }> {
  const staging = createStaging();
  try {
    if (isGitUse(url)) {
      const src = parseGitUse(url);
      const resolvedCommit = await exportGit(url, src, commit ?? src.ref, staging.content);
      const pin = treeDigest(staging.content);
      return {
        entry: { sha256: pin, kind: 'git', commit: resolvedCommit },
        path: commitStaging(staging, pin, 'git'),
      };
    }
    const bytes = await downloadTarball(url);
    const pin = sha256(bytes);
    const existing = verifyCacheEntry(pin);
    if (existing.ok) {
      discardStaging(staging);
      return { entry: { sha256: pin, kind: 'tarball' }, path: existing.content };
    }
    unpackTarball(url, bytes, join(staging.dir, 'archive'), staging.content);
    return {
      entry: { sha256: pin, kind: 'tarball' },
      path: commitStaging(staging, pin, 'tarball'),
    };
  } catch (e) {
    discardStaging(staging);
    throw e;
  }
}

function message(url: string, r: Resolved): string {
  const pin = `sha256:${short(r.entry.sha256)}`;
  const at = r.entry.commit ? ` (commit ${r.entry.commit.slice(0, 12)})` : '';
  switch (r.status) {
    case 'pinned':
      return `pinned ${url} ${pin}${at}`;
    case 'already':
      return `already pinned ${url} ${pin}${at}`;
    case 'refetched':
      return `already pinned ${url} ${pin}${at}, fetched again into the library cache`;
    case 'updated':
      return `updated ${url} sha256:${short(r.previous ?? '')} -> ${pin}${at}`;
  }
}

function urlOf(line: string): string {
  return line.replace(/^(already pinned|pinned|updated|removed) /, '');
}

function short(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

/** `otto lock --check`: every used remote entry pinned and cached, none stale. Never writes, never fetches. */
export function checkLock(file: string): LockResult {
  const lockPath = lockPathFor(file);
  const lock = readLock(lockPath);
  const command = lockCommandFor(file);
  const problems: LockProblem[] = [];
  const seen = new Map<string, ReturnType<typeof resolvePinned>>();
  loadProgram(file, {
    resolveRemote: (url) => {
      let r = seen.get(url);
      if (!r) seen.set(url, (r = resolvePinned(url, lock, command)));
      return 'path' in r ? { path: r.path } : { error: r.error, help: r.help };
    },
  });
  if (lock && 'error' in lock)
    return {
      entries: {},
      messages: [],
      problems: [{ message: lock.error, help: 'fix or delete otto.lock, then run `otto lock`' }],
      lockPath,
      wrote: false,
    };
  for (const [, r] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!('path' in r)) problems.push({ message: r.error, help: r.help });
  }
  // An unfetched blueprint hides what it uses, so stale entries are only known when all resolved.
  if (problems.length === 0) {
    for (const url of Object.keys(lock?.libraries ?? {}).sort()) {
      if (!seen.has(url))
        problems.push({
          message: `otto.lock pins '${url}', which the pipeline no longer uses`,
          help: `run \`${command}\` to remove it`,
        });
    }
  }
  const entries = lock ? lock.libraries : {};
  const messages =
    problems.length === 0
      ? [
          `${lockPath} is up to date (${seen.size} remote ${seen.size === 1 ? 'library' : 'libraries'}, all in the library cache)`,
        ]
      : [];
  return { entries, messages, problems, lockPath, wrote: false };
}

/** The remote entries a loaded program uses, with their pins from otto.lock, sorted by source (for the plan). */
export function libraryPins(
  program: Program,
  pipelineFile: string,
): Array<{ source: string; sha256: string }> {
  const lock = readLock(lockPathFor(pipelineFile));
  const libraries: LockFile['libraries'] = lock && !('error' in lock) ? lock.libraries : {};
  const sources = new Set<string>();
  for (const file of program.files) {
    for (const item of file.items) {
      if (item.kind !== 'use') continue;
      for (const entry of item.entries) {
        if (entry.source.kind === 'ident') continue;
        const text = literal(entry.source);
        if (text !== undefined && isRemoteUse(text)) sources.add(text);
      }
    }
  }
  return [...sources]
    .filter((s) => libraries[s] !== undefined)
    .sort()
    .map((source) => ({ source, sha256: (libraries[source] as LockEntry).sha256 }));
}
