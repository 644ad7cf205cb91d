// The trigger context for a local command: flags first, then the git repository the file is in.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PlanContext, TriggerEvent } from '../protocol/plan.js';

export const TRIGGER_EVENTS: readonly TriggerEvent[] = ['push', 'pull_request', 'tag', 'cron', 'manual', 'api'];

export interface ContextFlags {
  readonly event?: string;
  readonly branch?: string;
  readonly tag?: string;
  readonly sha?: string;
  readonly base?: string;
  readonly vars?: readonly string[];
  /** Changed files computed elsewhere (a server's mirror): used instead of asking git here. */
  readonly changed?: readonly string[];
}

export class ContextError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

/**
 * Whether git could find a work tree from `dir`: a `.git` (directory, or file for a worktree or a
 * submodule) in it or a parent, or GIT_DIR / GIT_WORK_TREE set. False means git need not be asked
 * (asking costs a process); true means it must be, and may still say no.
 */
export function maybeInGitRepo(dir: string): boolean {
  if (process.env.GIT_DIR !== undefined || process.env.GIT_WORK_TREE !== undefined) return true;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

interface GitStatus {
  /** The current branch; '' when HEAD is detached. */
  readonly branch: string;
  /** HEAD's commit; '' on an unborn branch. */
  readonly sha: string;
  /** Tracked files that differ from HEAD (staged or not), relative to the top of the work tree. */
  readonly changed: string[];
  /** Untracked files that are not ignored, relative to the top. */
  readonly untracked: string[];
}

/**
 * Branch, HEAD and the changes, from one `git status` (each git is a process, and a run waits for
 * this before it plans); undefined outside a work tree. Porcelain paths are relative to the top.
 */
function gitStatus(cwd: string): GitStatus | undefined {
  // --no-optional-locks: status would otherwise refresh the user's index, racing their own git.
  const r = spawnSync('git', ['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=all', '-z'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) return undefined;
  let branch = '';
  let sha = '';
  const changed: string[] = [];
  const untracked: string[] = [];
  const fields = r.stdout.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    if (f.startsWith('# branch.oid ')) {
      const oid = f.slice('# branch.oid '.length);
      sha = oid === '(initial)' ? '' : oid;
    } else if (f.startsWith('# branch.head ')) {
      const head = f.slice('# branch.head '.length);
      branch = head === '(detached)' ? '' : head;
    } else if (f.startsWith('? ')) {
      untracked.push(f.slice(2));
    } else if (f.startsWith('1 ') || f.startsWith('u ')) {
      changed.push(afterSpaces(f, f.startsWith('1 ') ? 8 : 10));
    } else if (f.startsWith('2 ')) {
      changed.push(afterSpaces(f, 9));
      i++; // the original path of a rename or copy follows in a field of its own
    }
  }
  return { branch, sha, changed, untracked };
}

/** What follows the `n`th space of `line` (a path may itself hold spaces). */
function afterSpaces(line: string, n: number): string {
  let at = -1;
  for (let k = 0; k < n; k++) at = line.indexOf(' ', at + 1);
  return line.slice(at + 1);
}

/** Parses `--var k=v` flags. */
export function parseVars(vars: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of vars) {
    const eq = v.indexOf('=');
    const key = eq > 0 ? v.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) {
      throw new ContextError(`--var '${v}' is not NAME=VALUE`, 'write --var deploy=true (the name is letters, digits, _ and -)');
    }
    out[key] = v.slice(eq + 1);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Resolves the context: explicit flags win; otherwise the current branch and HEAD of the git
 * repository holding `pipelineFile`. Changed files: against `--base REV` (REV to the working tree),
 * else the uncommitted changes, including untracked files.
 */
export function resolveContext(pipelineFile: string, flags: ContextFlags): PlanContext {
  const event = flags.event ?? (flags.tag ? 'tag' : 'manual');
  if (!(TRIGGER_EVENTS as readonly string[]).includes(event)) {
    throw new ContextError(`unknown event '${event}'`, `events are ${TRIGGER_EVENTS.join(', ')}`);
  }
  const cwd = dirname(resolve(pipelineFile));
  // Everything given (a server that read it from its mirror): no need to ask git anything.
  const given = flags.branch !== undefined && flags.sha !== undefined && flags.changed !== undefined;
  const status = given || !maybeInGitRepo(cwd) ? undefined : gitStatus(cwd);
  let branch = flags.branch;
  let sha = flags.sha;
  let changedFiles: string[] = [];
  if (status !== undefined) {
    branch ??= status.branch;
    sha ??= status.sha;
    if (flags.base !== undefined) {
      // Paths from diff and status are relative to the top of the work tree, wherever git runs.
      const diff = spawnSync('git', ['diff', '--name-only', flags.base], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      if (diff.status !== 0) {
        throw new ContextError(`--base '${flags.base}' is not a revision of this repository`, 'name a branch, tag or commit, such as --base origin/main');
      }
      changedFiles = diff.stdout.split('\n').filter(Boolean);
    } else if (status.sha) {
      changedFiles = status.changed;
    }
    // Changed files given are used as they are (below): git is not asked for what would be dropped.
    if (flags.changed === undefined) changedFiles = [...new Set([...changedFiles, ...status.untracked])].sort();
  } else if (flags.base !== undefined && !given) {
    throw new ContextError(`--base needs a git repository, but ${cwd} is not in one`, 'drop --base, or run otto inside a git checkout');
  }
  if (flags.changed) changedFiles = [...new Set(flags.changed)].sort();
  return {
    event: event as TriggerEvent,
    branch: branch ?? '',
    tag: flags.tag ?? '',
    sha: sha ?? '',
    base: flags.base ?? '',
    vars: parseVars(flags.vars),
    changedFiles,
  };
}
