// Helpers for the `otto serve` / `otto agent` integration tests: the real CLI as child processes
// (killed by pid after each test file, and on any exit of the test process), tokens made with
// `otto token create`, and a local git repository made with the git CLI. Every wait is bounded.
// The HTTP side (requests, streams, webhooks) is in server-http.ts, re-exported from here.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { pidGone, sleep, waitFor } from '../cli/run-helpers.js';
import { Api } from './server-http.js';

export { sleep, waitFor, pidGone };
export * from './server-http.js';

export interface Hooks {
  after: (fn: () => void | Promise<void>) => void;
}

/**
 * Cleanups registered while a suite's `before` hook runs (node:test's `after` called inside a hook
 * would run as soon as that hook ends): register them here and call `run` from the suite's `after`.
 */
export function deferred(): Hooks & { run(): Promise<void> } {
  const fns: Array<() => void | Promise<void>> = [];
  return {
    after: (fn) => void fns.push(fn),
    run: async () => {
      for (const fn of fns.splice(0).reverse()) await fn();
    },
  };
}

export type Role = 'admin' | 'operator' | 'viewer' | 'agent';

/** A child process of the real otto CLI, with its output so far. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Sends a signal (no-op once it has exited). */
  kill(signal?: NodeJS.Signals): void;
  alive(): boolean;
}

/**
 * Processes still running and pid files steps wrote, killed when this test process exits however
 * it exits (a crash must not leave servers and agents behind: the after hooks would not run).
 */
const live = new Set<number>();
const pidFilesToKill = new Set<string>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  killPidsIn([...pidFilesToKill]);
});

function spawnOtto(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Proc {
  const child = spawn(ottoBin, [...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  let done = false;
  live.add(child.pid as number);
  child.on('close', () => live.delete(child.pid as number));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid as number,
    exited,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    kill: (signal = 'SIGTERM') => {
      if (!done && !pidGone(child.pid as number)) {
        try {
          process.kill(child.pid as number, signal);
        } catch {
          // gone meanwhile
        }
      }
    },
    alive: () => !done && !pidGone(child.pid as number),
  };
}

/** Stops a process: `first`, then SIGKILL if it is still there after `graceMs`. */
export async function stopProc(
  p: Proc,
  first: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<void> {
  if (!p.alive()) return;
  p.kill(first);
  const end = Date.now() + graceMs;
  while (p.alive() && Date.now() < end) await sleep(25);
  if (p.alive()) p.kill('SIGKILL');
  await Promise.race([p.exited, sleep(2000)]);
}

/** Kills whole process groups (or single processes) whose leaders' pids steps wrote to files. */
export function killPidsIn(files: readonly string[]): void {
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const s of readFileSync(f, 'utf8').split(/\s+/)) {
      if (!/^\d+$/.test(s)) continue;
      for (const target of [-Number(s), Number(s)]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // not a group leader, or gone
        }
      }
    }
  }
}

export interface GitRepo {
  readonly dir: string;
  commit(files: Record<string, string>, message: string): string;
  /** Creates (or moves to) a branch and commits there; returns the sha. */
  commitOn(branch: string, files: Record<string, string>, message: string): string;
  head(ref?: string): string;
}

export function gitRepo(dir: string, files: Record<string, string>): GitRepo {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Otto Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Otto Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  git('-c', 'init.defaultBranch=main', 'init', '-q');
  const repo: GitRepo = {
    dir,
    commit(fs, message) {
      for (const [name, text] of Object.entries(fs)) writeFileSync(join(dir, name), text);
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    commitOn(branch, fs, message) {
      git('checkout', '-q', '-B', branch);
      const sha = repo.commit(fs, message);
      git('checkout', '-q', 'main');
      return sha;
    },
    head: (ref = 'HEAD') => git('rev-parse', ref),
  };
  repo.commit(files, 'first');
  return repo;
}

export interface ServerOptions {
  /** Fixed port (restarts); default 0, the server prints the one it got. */
  readonly port?: number;
  readonly agentTimeoutS?: number;
  /** More environment for the server process. */
  readonly env?: Record<string, string>;
  /** More arguments for `otto serve` (e.g. --postgres URL). */
  readonly args?: readonly string[];
}

export interface Server {
  readonly proc: Proc;
  readonly url: string;
  readonly port: number;
}

export interface Agent {
  readonly proc: Proc;
  readonly name: string;
  readonly workDir: string;
}

/** One otto service for a test file: data dir, secret key, tokens, processes, repositories. */
export class Env {
  readonly root: string;
  readonly dataDir: string;
  readonly keyFile: string;
  readonly tokens = {} as Record<Role, string>;
  server!: Server;
  /** Every agent started, alive or not. */
  readonly agents: Agent[] = [];
  private readonly procs: Proc[] = [];
  readonly pidFiles: string[] = [];

  private constructor(t: Hooks) {
    this.root = mkdtempSync(join(tmpdir(), 'otto-server-test-'));
    this.dataDir = join(this.root, 'data');
    this.keyFile = join(this.root, 'secret.key');
    t.after(() => this.cleanup());
  }

  /** A fresh data dir with one token per role, made by `otto token create` (names = roles). */
  static async create(t: Hooks): Promise<Env> {
    const env = new Env(t);
    // The first one creates and migrates the store alone; the others may then run at once.
    env.tokens.admin = await env.otto([
      'token',
      'create',
      '--role',
      'admin',
      '--name',
      'admin',
      '--data',
      env.dataDir,
    ]);
    const rest: Role[] = ['operator', 'viewer', 'agent'];
    const made = await Promise.all(
      rest.map((r) =>
        env.otto(['token', 'create', '--role', r, '--name', r, '--data', env.dataDir]),
      ),
    );
    rest.forEach((r, i) => (env.tokens[r] = made[i] as string));
    return env;
  }

  get envVars(): Record<string, string> {
    return {
      OTTO_SECRET_KEY_FILE: this.keyFile,
      HOME: this.root,
      XDG_CACHE_HOME: join(this.root, 'cache'),
    };
  }

  /** Runs the otto CLI to completion (30 s at most) and returns its trimmed stdout; throws on a non-zero exit. */
  async otto(args: readonly string[], allowFail = false): Promise<string> {
    const r = await this.ottoResult(args);
    if (r.code !== 0 && !allowFail)
      throw new Error(`otto ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  }

  async ottoResult(
    args: readonly string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = spawnOtto(args, this.envVars, this.root);
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  /** Starts `otto serve` and waits (15 s at most) until it prints its URL and answers /health. */
  async startServer(options: ServerOptions = {}): Promise<Server> {
    const args = ['serve', '--data', this.dataDir, '--listen', `127.0.0.1:${options.port ?? 0}`];
    if (options.agentTimeoutS !== undefined)
      args.push('--agent-timeout', String(options.agentTimeoutS));
    args.push(...(options.args ?? []));
    const proc = spawnOtto(args, { ...this.envVars, ...options.env }, this.root);
    this.procs.push(proc);
    const url = await waitFor(
      `otto serve to print its URL (stderr: ${proc.stderr()})`,
      () => {
        if (!proc.alive()) throw new Error(`otto serve exited: ${proc.stderr()}`);
        return /^(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(proc.stdout())?.[1];
      },
      15_000,
      25,
    );
    await waitFor(
      'the server to answer /api/v1/health',
      async () => (await fetch(`${url}/api/v1/health`)).ok,
      10_000,
      50,
    );
    this.server = { proc, url, port: Number(new URL(url).port) };
    return this.server;
  }

  /** Starts `otto agent` and waits (15 s at most) until it has registered. */
  async startAgent(name: string, options: { labels?: string; jobs?: number } = {}): Promise<Agent> {
    const workDir = join(this.root, `agent-${name}`);
    const args = [
      'agent',
      '--server',
      this.server.url,
      '--work-dir',
      workDir,
      '--name',
      name,
      '--jobs',
      String(options.jobs ?? 2),
    ];
    if (options.labels) args.push('--labels', options.labels);
    const proc = spawnOtto(
      args,
      { ...this.envVars, OTTO_AGENT_TOKEN: this.tokens.agent },
      this.root,
    );
    this.procs.push(proc);
    await waitFor(
      `agent ${name} to register`,
      () => {
        if (!proc.alive()) throw new Error(`otto agent ${name} exited: ${proc.stderr()}`);
        return /registered with/.test(proc.stderr());
      },
      15_000,
      25,
    );
    const agent = { proc, name, workDir };
    this.agents.push(agent);
    return agent;
  }

  /** A scratch path for files steps write (markers, pid files). */
  scratch(name: string): string {
    const dir = join(this.root, 'scratch');
    mkdirSync(dir, { recursive: true });
    return join(dir, name);
  }

  /** A pid file steps append `$$` to; its processes are killed after the test. */
  pidFile(name: string): string {
    const f = this.scratch(`${name}.pids`);
    this.pidFiles.push(f);
    pidFilesToKill.add(f);
    return f;
  }

  repo(name: string, files: Record<string, string>): GitRepo {
    return gitRepo(join(this.root, 'repos', name), files);
  }

  api(role: Role | null = 'admin'): Api {
    return new Api(this.server.url, role === null ? null : this.tokens[role]);
  }

  /** Creates a project over the API (admin) and returns its name. */
  async project(name: string, repo: GitRepo, webhookSecret = 'webhook-secret-1'): Promise<string> {
    const r = await this.api('admin').post('/api/v1/projects', {
      name,
      repo: repo.dir,
      webhookSecret,
    });
    if (r.status !== 201) throw new Error(`creating project ${name}: ${r.status} ${r.text}`);
    return name;
  }

  private async cleanup(): Promise<void> {
    const t0 = Date.now();
    const agents = this.procs.filter((p) => p !== this.server?.proc);
    // Agents first, while the server can still hear their last events; then the server.
    await Promise.all(agents.map((p) => stopProc(p, 'SIGTERM', 6000)));
    const t1 = Date.now();
    await Promise.all(this.procs.map((p) => stopProc(p, 'SIGTERM', 3000)));
    if (process.env.OTTO_TEST_DEBUG)
      process.stderr.write(
        `cleanup: agents ${t1 - t0} ms, server ${Date.now() - t1} ms\n${this.dump()}\n`,
      );
    killPidsIn(this.pidFiles);
    if (process.env.OTTO_KEEP_TEST_DIRS) process.stderr.write(`kept ${this.root}\n`);
    else rmSync(this.root, { recursive: true, force: true });
  }

  /** Every process output, for assertion messages. */
  dump(): string {
    return this.procs.map((p) => `--- pid ${p.pid}\n${p.stderr().slice(-3000)}`).join('\n');
  }
}
