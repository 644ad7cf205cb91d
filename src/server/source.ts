// The source of a run in server mode: a bare mirror per project, fetched on each trigger, and a
// checkout of the exact commit per run (what the planner reads).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from './errors.js';

export class SourceError extends ApiError {}

/** Checkouts kept per project (see Sources.pruneCheckouts). */
export const KEPT_CHECKOUTS = 20;

/** Marks a checkout as just used, and returns it. */
function touched(dir: string, marker: string): string {
  const now = new Date();
  try {
    utimesSync(marker, now, now);
  } catch {
    // removed meanwhile: the caller reads what is there, as before
  }
  return dir;
}

function git(args: readonly string[], cwd?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

export class Sources {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly dataDir: string) {}

  mirrorDir(project: string): string {
    return join(this.dataDir, 'repos', `${project}.git`);
  }

  /** Serialises git work per project (two triggers must not fetch into one mirror at once). */
  private async exclusive<T>(project: string, work: () => T | Promise<T>): Promise<T> {
    const prev = this.locks.get(project) ?? Promise.resolve();
    const next = prev.then(work, work);
    this.locks.set(project, next.catch(() => undefined));
    return next;
  }

  /** Clones or fetches the project's mirror. */
  async fetch(project: string, repo: string): Promise<void> {
    await this.exclusive(project, () => {
      const dir = this.mirrorDir(project);
      if (!existsSync(dir)) {
        mkdirSync(join(this.dataDir, 'repos'), { recursive: true });
        const tmp = `${dir}.tmp-${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        const r = git(['clone', '--quiet', '--mirror', repo, tmp]);
        if (!r.ok) throw new SourceError('unprocessable', `cannot clone ${repo}: ${r.err.split('\n').pop() ?? ''}`);
        renameSync(tmp, dir);
        return;
      }
      const r = git(['fetch', '--quiet', '--prune', '--tags', 'origin', '+refs/*:refs/*'], dir);
      if (!r.ok) throw new SourceError('unprocessable', `cannot fetch ${repo}: ${r.err.split('\n').pop() ?? ''}`);
    });
  }

  /** Whether the mirror already holds a commit (a trigger naming it needs no fetch). */
  has(project: string, sha: string): boolean {
    if (!/^[0-9a-fA-F]{4,64}$/.test(sha) || !existsSync(this.mirrorDir(project))) return false;
    if (this.known.has(`${project}\0${sha}`)) return true;
    const ok = git(['cat-file', '-e', `${sha}^{commit}`], this.mirrorDir(project)).ok;
    if (ok && sha.length >= 40) this.known.add(`${project}\0${sha}`);
    return ok;
  }

  /** Full commit ids known to be in a mirror (a commit never leaves it). */
  private readonly known = new Set<string>();

  /**
   * A checkout of a commit, made once and kept (a commit never changes): triggers of the same
   * commit plan from the same files without writing them again.
   */
  async cachedCheckout(project: string, sha: string): Promise<string> {
    const dir = join(this.dataDir, 'checkouts', project, sha);
    const complete = join(dir, '.otto-complete');
    if (existsSync(complete)) return touched(dir, complete);
    const made = await this.exclusive(`${project}:${sha}`, async () => {
      if (existsSync(complete)) return false;
      const tmp = `${dir}.tmp-${process.pid}`;
      await this.checkout(project, sha, tmp);
      writeFileSync(join(tmp, '.otto-complete'), '');
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return true;
    });
    if (made) this.pruneCheckouts(project, sha);
    return touched(dir, complete);
  }

  /**
   * Keeps the project's KEPT_CHECKOUTS most recently used checkouts (each use marks its
   * `.otto-complete`): a checkout is only read while a trigger plans, and a commit used again is
   * checked out again. `keep` is never removed.
   */
  private pruneCheckouts(project: string, keep: string): void {
    const root = join(this.dataDir, 'checkouts', project);
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      return;
    }
    const used = names
      .filter((n) => n !== keep && !n.includes('.tmp-'))
      .map((n) => ({ n, at: statSync(join(root, n, '.otto-complete'), { throwIfNoEntry: false })?.mtimeMs }))
      .filter((c): c is { n: string; at: number } => c.at !== undefined)
      .sort((a, b) => b.at - a.at);
    for (const old of used.slice(KEPT_CHECKOUTS - 1)) rmSync(join(root, old.n), { recursive: true, force: true });
  }

  private readonly commitTimes = new Map<string, number | null>();

  /** The commit a branch, tag or sha names in the mirror. */
  resolve(project: string, ref: { sha?: string; branch?: string; tag?: string }): string {
    const dir = this.mirrorDir(project);
    if (ref.sha && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref.sha) && this.known.has(`${project}\0${ref.sha}`)) return ref.sha;
    const spec = ref.sha ?? (ref.tag ? `refs/tags/${ref.tag}^{commit}` : `refs/heads/${ref.branch ?? 'main'}`);
    const r = git(['rev-parse', '--verify', '--quiet', `${spec}^{commit}`], dir);
    if (!r.ok || !r.out) {
      throw new SourceError('unprocessable', ref.sha ? `commit ${ref.sha} is not in ${project}'s repository` : ref.tag ? `tag '${ref.tag}' is not in ${project}'s repository` : `branch '${ref.branch ?? 'main'}' is not in ${project}'s repository`);
    }
    return r.out;
  }

  commitTime(project: string, sha: string): number | null {
    const key = `${project}\0${sha}`;
    if (this.commitTimes.has(key)) return this.commitTimes.get(key) ?? null;
    const r = git(['show', '-s', '--format=%ct', sha], this.mirrorDir(project));
    const t = r.ok && /^\d+$/.test(r.out) ? Number(r.out) * 1000 : null;
    if (this.commitTimes.size > 10_000) this.commitTimes.clear();
    this.commitTimes.set(key, t);
    return t;
  }

  changedFiles(project: string, base: string, sha: string): string[] {
    if (!base || /^0+$/.test(base)) return [];
    const r = git(['diff', '--name-only', base, sha], this.mirrorDir(project));
    return r.ok ? r.out.split('\n').filter(Boolean).sort() : [];
  }

  /** Writes the tree of a commit into `dest` (git archive | tar -x). */
  async checkout(project: string, sha: string, dest: string): Promise<void> {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    await new Promise<void>((resolve, reject) => {
      const archive = spawn('git', ['archive', '--format=tar', sha], { cwd: this.mirrorDir(project), stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-C', dest], { stdio: ['pipe', 'ignore', 'pipe'] });
      archive.stdout.pipe(tar.stdin);
      let err = '';
      archive.stderr.on('data', (d: Buffer) => (err += d.toString()));
      tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new SourceError('unprocessable', `cannot check out ${sha}: ${err.trim()}`))));
      archive.on('error', reject);
      tar.on('error', reject);
    });
  }
}
