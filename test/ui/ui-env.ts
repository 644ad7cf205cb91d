// The service a browser test drives: a real `otto serve` and a real `otto agent` as child processes
// with a temporary data dir, tokens per role from `otto token create`, a local git repository, and
// a loopback proxy in front of the server whose connections the test can cut (a dropped network).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { gitRepo } from '../server/server-helpers.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns something truthy; fails after `timeoutMs` naming what it waited for. */
export async function waitFor<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(everyMs);
  }
}

interface Proc {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<void>;
}

function spawnOtto(args: readonly string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(ottoBin, [...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => chunks.push(d));
  child.stderr?.on('data', (d: Buffer) => chunks.push(d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, output: () => Buffer.concat(chunks).toString('utf8'), exited };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const killed = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await p.exited;
  clearTimeout(killed);
}

/** A TCP proxy on 127.0.0.1 whose open connections can all be cut at once. */
export class Proxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;
  /** Connections cut so far. */
  cut = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Cuts every open connection, as a network drop would. */
  drop(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    this.cut += n;
    return n;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

export type Role = 'admin' | 'operator' | 'viewer' | 'agent';

/** A response body as the tests read it: whatever shape the route documents. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export class UiEnv {
  readonly root = mkdtempSync(join(tmpdir(), 'otto-ui-test-'));
  readonly dataDir = join(this.root, 'data');
  readonly tokens = {} as Record<Role, string>;
  private readonly procs: Proc[] = [];
  serverUrl = '';
  proxy: Proxy | undefined;

  get env(): Record<string, string> {
    return {
      OTTO_SECRET_KEY_FILE: join(this.root, 'secret.key'),
      HOME: this.root,
      XDG_CACHE_HOME: join(this.root, 'cache'),
    };
  }

  /** The URL the browser uses: through the proxy. */
  get url(): string {
    return `http://127.0.0.1:${this.proxy?.port ?? 0}`;
  }

  /** Tokens named after people, so decisions and audit records show who acted. */
  makeTokens(): void {
    const names: Record<Role, string> = {
      admin: 'ada',
      operator: 'oscar',
      viewer: 'vera',
      agent: 'agent-1',
    };
    for (const role of ['admin', 'operator', 'viewer', 'agent'] as const) {
      this.tokens[role] = execFileSync(
        ottoBin,
        ['token', 'create', '--role', role, '--name', names[role], '--data', this.dataDir],
        {
          env: { ...process.env, ...this.env },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ).trim();
    }
  }

  async startServer(): Promise<void> {
    const p = spawnOtto(
      ['serve', '--data', this.dataDir, '--listen', '127.0.0.1:0'],
      this.env,
      this.root,
    );
    this.procs.push(p);
    this.serverUrl = await waitFor(
      `otto serve to print its URL (${p.output()})`,
      () => /^(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(p.output())?.[1],
      20_000,
    );
    this.proxy = new Proxy(Number(new URL(this.serverUrl).port));
    await this.proxy.start();
  }

  async startAgent(name: string): Promise<void> {
    const p = spawnOtto(
      [
        'agent',
        '--server',
        this.serverUrl,
        '--work-dir',
        join(this.root, `agent-${name}`),
        '--name',
        name,
        '--jobs',
        '3',
      ],
      { ...this.env, OTTO_AGENT_TOKEN: this.tokens.agent },
      this.root,
    );
    this.procs.push(p);
    await waitFor(
      `agent ${name} to register (${p.output()})`,
      () => /registered with/.test(p.output()),
      20_000,
    );
  }

  /** A git repository with the given files committed on main; returns its path. */
  repo(name: string, files: Record<string, string>): string {
    return gitRepo(join(this.root, 'repos', name), files).dir;
  }

  /** JSON over HTTP straight to the server (not through the proxy). */
  async api(
    role: Role | null,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Json }> {
    const headers: Record<string, string> = role
      ? { authorization: `Bearer ${this.tokens[role]}` }
      : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.serverUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  output(): string {
    return this.procs.map((p) => p.output().slice(-4000)).join('\n---\n');
  }

  async close(): Promise<void> {
    await this.proxy?.close();
    // Agents first, while the server still hears them; then the server.
    for (const p of [...this.procs].reverse()) await stop(p);
    if (!process.env.OTTO_KEEP_TEST_DIRS) rmSync(this.root, { recursive: true, force: true });
  }
}
