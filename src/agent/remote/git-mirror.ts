// Bare mirrors of source repositories, one per repository URL, fetched on demand, from which each
// job's workspace is written at an exact commit. Git always runs from argv arrays, never a shell.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathSlug } from './paths.js';

/** A full object name: 40 (SHA-1) or 64 (SHA-256) hex digits. Anything else is refused. */
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface GitOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs git; rejects with its stderr's last lines (credentials in URLs removed) on failure. */
export function git(args: readonly string[], options: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: options.timeoutMs ?? 0,
        ...(options.signal ? { signal: options.signal } : {}),
        // Never wait for a password prompt nobody will answer.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        const detail = redactUrls(stderr.trim().split('\n').slice(-3).join('; ')) || error.message;
        reject(
          new Error(`git ${subcommand(args)} failed: ${detail}`, {
            cause: error,
          }),
        );
      },
    );
  });
}

/** The git command in argv, past global options and their values (`--git-dir DIR`). */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--git-dir' || a === '--work-tree' || a === '-c' || a === '-C') i++;
    else if (!a.startsWith('-')) return a;
  }
  return '';
}

/** `https://user:token@host/x` → `https://***@host/x`, anywhere in the text. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export interface Checkout {
  /** How long fetching took, or null when the mirror already had the commit. */
  readonly fetchMs: number | null;
  readonly cloned: boolean;
}

export class GitMirrors {
  /** One fetch at a time per mirror; checkouts read the object store and need no lock. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Commits known to be in a mirror (a commit never leaves one): no git call to ask again. */
  private readonly known = new Set<string>();
  /** Trees already written once, by mirror and commit: later jobs copy them instead of asking git. */
  private readonly templates = new Map<string, Promise<string>>();

  constructor(
    private readonly reposDir: string,
    private readonly tmpDir: string,
    private readonly fetchTimeoutMs: number,
  ) {}

  /** Writes the tree of `repo` at `sha` into the empty directory `dir` (no .git, as in local mode). */
  async checkout(repo: string, sha: string, dir: string, signal: AbortSignal): Promise<Checkout> {
    if (repo === '') throw new Error('the job names no source repository');
    // A value starting with '-' would be read as an option by git.
    if (repo.startsWith('-'))
      throw new Error(`'${redactUrls(repo)}' is not a repository URL or path`);
    if (!FULL_SHA.test(sha))
      throw new Error(`'${sha}' is not a full commit id (40 or 64 hex digits)`);
    const mirror = join(this.reposDir, `${pathSlug(redactUrls(repo))}.git`);
    const key = `${mirror}\0${sha}`;
    const fetched = this.known.has(key)
      ? { fetchMs: null, cloned: false }
      : await this.serialised(mirror, () => this.ensureCommit(repo, sha, mirror, signal));
    this.known.add(key);
    // The first job of a commit writes its tree once; every job copies that (a copy of a small
    // tree in-process is far cheaper than starting git again).
    let template = this.templates.get(key);
    if (!template) {
      template = this.writeTree(mirror, sha, join(this.tmpDir, 'trees', `${pathSlug(mirror)}-${sha}`), signal);
      this.templates.set(key, template);
      if (this.templates.size > 50) this.templates.delete(this.templates.keys().next().value as string);
    }
    let tree: string;
    try {
      tree = await template;
    } catch (e) {
      this.templates.delete(key);
      throw e;
    }
    await mkdir(dirname(dir), { recursive: true });
    await cp(tree, dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: true });
    return fetched;
  }

  private async writeTree(mirror: string, sha: string, dir: string, signal: AbortSignal): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await mkdir(tmp, { recursive: true });
    // A private index, so concurrent checkouts from one mirror never share one.
    const index = join(this.tmpDir, `index-${randomBytes(8).toString('hex')}`);
    try {
      await git(['--git-dir', mirror, '--work-tree', tmp, 'read-tree', '--reset', '-u', sha], {
        signal,
        env: { GIT_INDEX_FILE: index },
      });
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } finally {
      await rm(index, { force: true });
      await rm(tmp, { recursive: true, force: true });
    }
    return dir;
  }

  private async ensureCommit(
    repo: string,
    sha: string,
    mirror: string,
    signal: AbortSignal,
  ): Promise<Checkout> {
    const opts = { signal, timeoutMs: this.fetchTimeoutMs };
    let cloned = false;
    if (!existsSync(mirror)) {
      // Made under a temporary name and renamed, so a crash never leaves a half-made mirror.
      const tmp = `${mirror}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      await mkdir(this.reposDir, { recursive: true });
      try {
        await git(['init', '--quiet', '--bare', tmp], opts);
        await rename(tmp, mirror);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      cloned = true;
    }
    if (await hasCommit(mirror, sha, signal)) return { fetchMs: null, cloned };
    const started = performance.now();
    // Branches and tags first (what most commits are on), then the commit itself for one that
    // only a pull-request ref or nothing advertised reaches. The URL is given each time rather than
    // stored as a remote: it may carry a token that changes, and the mirror should not keep it.
    await git(
      [
        '--git-dir',
        mirror,
        'fetch',
        '--quiet',
        '--prune',
        '--no-tags',
        repo,
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ],
      opts,
    );
    if (!(await hasCommit(mirror, sha, signal))) {
      await git(['--git-dir', mirror, 'fetch', '--quiet', repo, sha], opts).catch(() => undefined);
      if (!(await hasCommit(mirror, sha, signal)))
        throw new Error(
          `commit ${sha} is not in ${redactUrls(repo)} (fetched its branches and tags, and asked for the commit itself)`,
        );
    }
    return { fetchMs: Math.round(performance.now() - started), cloned };
  }

  private serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }
}

async function hasCommit(mirror: string, sha: string, signal: AbortSignal): Promise<boolean> {
  try {
    await git(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`], { signal });
    return true;
  } catch {
    return false;
  }
}
