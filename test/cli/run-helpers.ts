// Helpers for the `otto run` tests: a temp project with an Ottofile, the real otto CLI run
// synchronously or in the background, the project's SQLite store read in-process, and pid checks
// that count a zombie as dead (PID 1 on the test machines does not reap orphans).

import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ottoBin, repoRoot, runOtto, type OttoResult } from '../helpers.js';
import { SqliteStore } from '../../src/store/index.js';

export const fixturesDir = join(repoRoot, 'test', 'engine', 'fixtures');
/** The node binary, by absolute path, for steps (the step environment keeps PATH, but be exact). */
export const nodeBin = process.execPath;

interface Hooks {
  after: (fn: () => void | Promise<void>) => void;
}

export interface RunJson {
  readonly id: string;
  readonly status: string;
  readonly message: string;
  readonly rerunOf: string | null;
  readonly stages: ReadonlyArray<{
    path: string;
    status: string;
    attempt: number;
    message: string;
    exitCode: number | null;
    startedAt: string | null;
    finishedAt: string | null;
  }>;
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Background {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly done: Promise<Finished>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
}

export interface Project {
  /** The project directory (holds the Ottofile). */
  readonly dir: string;
  /** A scratch directory beside the project, for state files steps keep across attempts and runs. */
  readonly scratch: string;
  /** Where the store lives: `dir/.otto`, or OTTO_HOME when the project was made with `home: 'outside'`. */
  readonly home: string;
  readonly env: Record<string, string | undefined>;
  write(name: string, text: string): void;
  read(name: string): string;
  otto(args: readonly string[], timeoutMs?: number): OttoResult;
  start(args: readonly string[], options?: { detached?: boolean; timeoutMs?: number }): Background;
  runs(): RunJson[];
  run(id: string): RunJson;
  /** The project's store, opened in this process (closed after the test). */
  store(): SqliteStore;
}

/**
 * A fresh project in a temp dir, removed after the test. By default the store is the project's own
 * `.otto/` (OTTO_HOME is cleared so the caller's environment cannot redirect it).
 */
export function project(
  t: Hooks,
  ottofile: string,
  options: { home?: 'inside' | 'outside' } = {},
): Project {
  const root = mkdtempSync(join(tmpdir(), 'otto-run-test-'));
  const dir = join(root, 'project');
  const scratch = join(root, 'scratch');
  mkdirSync(dir);
  mkdirSync(scratch);
  const outside = options.home === 'outside';
  const home = outside ? join(root, 'home') : join(dir, '.otto');
  const env: Record<string, string | undefined> = {
    OTTO_HOME: outside ? home : undefined,
    OTTO_DEBUG: '1',
  };
  writeFileSync(join(dir, 'Ottofile'), ottofile);
  const children: ChildProcess[] = [];
  let store: SqliteStore | undefined;
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const p: Project = {
    dir,
    scratch,
    home,
    env,
    write: (name, text) => writeFileSync(join(dir, name), text),
    read: (name) => readFileSync(join(dir, name), 'utf8'),
    otto: (args, timeoutMs = 30_000) => runOtto(args, { cwd: dir, env, timeoutMs }),
    start: (args, o = {}) => {
      const b = startOtto(args, { cwd: dir, env, ...o });
      children.push(b.child);
      return b;
    },
    runs: () => {
      const r = p.otto(['runs', '--json']);
      if (r.code !== 0) throw new Error(`otto runs --json exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as RunJson[];
    },
    run: (id) => {
      const found = p.runs().find((r) => r.id === id);
      if (!found) throw new Error(`no run ${id} in otto runs --json`);
      return found;
    },
    store: () => (store ??= new SqliteStore(join(home, 'otto.db'))),
  };
  return p;
}

/** Runs otto in the background, collecting its output; killed (SIGKILL) if it outlives `timeoutMs`. */
export function startOtto(
  args: readonly string[],
  options: {
    cwd: string;
    env?: Record<string, string | undefined>;
    detached?: boolean;
    timeoutMs?: number;
  },
): Background {
  const child = spawn(ottoBin, [...args], {
    cwd: options.cwd,
    env: {
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      ...options.env,
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  const stdout = (): string => Buffer.concat(out).toString('utf8');
  const stderr = (): string => Buffer.concat(err).toString('utf8');
  const limit = options.timeoutMs ?? 30_000;
  const done = new Promise<Finished>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: stdout(), stderr: stderr() });
    });
  });
  return { child, pid: child.pid as number, done, stdout, stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await sleep(everyMs);
  }
}

/** Whether a process is gone: no such pid, or a zombie nobody reaped (state Z or X in /proc). */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 1)[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true; // exited between the two looks
  }
}

/** Whitespace-separated pids a step wrote to a file. */
export function readPids(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** A file's lines, empty when the file does not exist. */
export function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** `start <id> <ns>` / `end <id> <ns>` lines steps append to a shared file, as intervals by id (ms). */
export function intervals(file: string): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  for (const l of lines(file)) {
    const [kind, id, ns] = l.split(' ');
    if (!id || !ns) continue;
    const ms = Number(BigInt(ns) / 1000n) / 1000;
    const cur = out.get(id) ?? { start: NaN, end: NaN };
    if (kind === 'start') cur.start = ms;
    if (kind === 'end') cur.end = ms;
    out.set(id, cur);
  }
  return out;
}

/** A shell snippet appending `start|end <label> <nanoseconds>` to `file`. */
export function stamp(kind: 'start' | 'end', label: string, file: string): string {
  return `echo "${kind} ${label} $(date +%s%N)" >> ${file}`;
}

/** Pids of the live (non-zombie) children of a process, from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2);
      if (Number(ppid) === pid && state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return out;
}
