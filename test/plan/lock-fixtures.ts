// Real things for the otto lock tests: a loopback HTTP server, tarballs built with tar, git repositories built with git.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import { ottoBin, repoRoot, type OttoResult } from '../helpers.js';

/** Serves `files[path]` on 127.0.0.1; a path missing from the map is a 404. Change the map to change the server. */
export interface FileServer {
  readonly files: Map<string, Buffer>;
  readonly port: number;
  url(path: string): string;
  close(): Promise<void>;
  readonly requests: string[];
}

export async function startServer(): Promise<FileServer> {
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length })
      .end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    files,
    port,
    requests,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A step library folder: `<dir>/<folder>/otto-step.json` and an executable entrypoint. */
export function writeStep(
  dir: string,
  folder: string,
  symbol: string,
  script = '#!/bin/sh\necho deployed\n',
): void {
  mkdirSync(join(dir, folder), { recursive: true });
  const manifest = {
    symbol,
    description: `the ${symbol} step`,
    parameters: [{ name: 'target', type: 'string', required: true }],
    entrypoint: 'run.sh',
  };
  writeFileSync(join(dir, folder, 'otto-step.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, folder, 'run.sh'), script);
  chmodSync(join(dir, folder, 'run.sh'), 0o755);
}

/** A gzipped tarball of `entries` (paths relative to `cwd`) as bytes. */
export function tarball(
  cwd: string,
  entries: string[],
  options: { preservePaths?: boolean } = {},
): Buffer {
  const out = join(dirname(cwd), `.${Math.random().toString(36).slice(2)}.tar.gz`);
  create(
    {
      gzip: true,
      cwd,
      file: out,
      sync: true,
      portable: true,
      preservePaths: options.preservePaths === true,
    },
    entries,
  );
  const bytes = readFileSync(out);
  rmSync(out);
  return bytes;
}

/** Runs git with an argument array and a fixed identity; throws with git's stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    [
      '-c',
      'user.name=Otto Test',
      '-c',
      'user.email=otto@example.invalid',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'tag.gpgsign=false',
      ...args,
    ],
    {
      cwd,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** `node bin/otto …` without blocking this process, so that a server in it can answer the child. */
export function runOttoAsync(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<OttoResult & { ms: number }> {
  const started = Date.now();
  return new Promise((ok, fail) => {
    const child = spawn(ottoBin, [...args], {
      cwd: options.cwd ?? repoRoot,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        ...options.env,
      } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr, ms: Date.now() - started }));
  });
}
