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

function git(cwd: string, args: readonly string[]): string | undefined {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() : undefined;
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
  // One git for three questions (each git is a process): it prints `true` inside a work tree, then
  // the top-level directory, then HEAD's sha — which an unborn branch lacks (exit 1 after the rest).
  const probe = given || !maybeInGitRepo(cwd) ? undefined : spawnSync('git', ['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--verify', '--quiet', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [inside, toplevel, head] = (probe?.stdout ?? '').split('\n');
  const inRepo = inside === 'true';
  let branch = flags.branch;
  let sha = flags.sha;
  let changedFiles: string[] = [];
  if (inRepo) {
    if (branch === undefined) {
      const b = git(cwd, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
      branch = b ?? '';
    }
    if (sha === undefined) sha = probe?.status === 0 ? (head ?? '').trim() : '';
    const top = toplevel ? toplevel.trim() : cwd;
    if (flags.base !== undefined) {
      const diff = spawnSync('git', ['diff', '--name-only', flags.base], { cwd: top, encoding: 'utf8' });
      if (diff.status !== 0) {
        throw new ContextError(`--base '${flags.base}' is not a revision of this repository`, 'name a branch, tag or commit, such as --base origin/main');
      }
      changedFiles = diff.stdout.split('\n').filter(Boolean);
    } else if (sha && flags.changed === undefined) {
      changedFiles = (git(top, ['diff', '--name-only', 'HEAD']) ?? '').split('\n').filter(Boolean);
    }
    // Changed files given are used as they are (below): git is not asked for what would be dropped.
    if (flags.changed === undefined) {
      const untracked = (git(top, ['ls-files', '--others', '--exclude-standard']) ?? '').split('\n').filter(Boolean);
      changedFiles = [...new Set([...changedFiles, ...untracked])].sort();
    }
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
