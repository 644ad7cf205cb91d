// Server benchmark: trigger-to-first-step latency over 200 runs (p50/p99) and runs per second with
// 4 agents on 500 queued one-step runs, against a real `otto serve` and real `otto agent`s.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { epochMs } from './proc.js';
import { fmtMs, median, percentile, printSection, type Row } from './util.js';

const ottoBin = fileURLToPath(new URL('../../bin/otto', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function otto(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(ottoBin, [...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`otto ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

interface Bench {
  readonly url: string;
  readonly admin: string;
  readonly sha: string;
  readonly procs: ChildProcess[];
  readonly dir: string;
}

async function setUp(agents: number): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'otto-bench-server-'));
  const repo = join(dir, 'repo');
  const git = (...a: string[]): string => spawnSync('git', a, { cwd: repo, encoding: 'utf8' }).stdout.trim();
  spawnSync('mkdir', ['-p', repo]);
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'bench@example.com');
  git('config', 'user.name', 'bench');
  writeFileSync(join(repo, 'Ottofile'), "pipeline {\n  stage('One') { steps { sh 'true' } }\n}\n");
  git('add', '.');
  git('commit', '-qm', 'bench');
  const sha = git('rev-parse', 'HEAD');
  const env = { ...process.env, OTTO_SECRET_KEY_FILE: join(dir, 'key') };
  const data = join(dir, 'data');
  const admin = otto(['token', 'create', '--role', 'admin', '--data', data], env);
  const agentToken = otto(['token', 'create', '--role', 'agent', '--data', data], env);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const procs: ChildProcess[] = [];
  procs.push(spawn(ottoBin, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', openSync(join(dir, 'serve.log'), 'w')] }));
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < agents; i++) {
    procs.push(
      spawn(ottoBin, ['agent', '--server', url, '--name', `bench-${i}`, '--jobs', '1', '--work-dir', join(dir, `agent-${i}`)], {
        env: { ...env, OTTO_AGENT_TOKEN: agentToken },
        stdio: ['ignore', 'ignore', openSync(join(dir, `agent-${i}.log`), 'w')],
      }),
    );
  }
  const h = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  await fetch(`${url}/api/v1/projects`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'bench', repo }) });
  for (let i = 0; i < 100; i++) {
    const body = (await (await fetch(`${url}/api/v1/agents`, { headers: h })).json()) as { agents: Array<{ state: string }> };
    if (body.agents.filter((a) => a.state !== 'offline').length >= agents) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, admin, sha, procs, dir };
}

function tearDown(b: Bench): void {
  for (const p of b.procs) p.kill('SIGTERM');
  setTimeout(() => {
    for (const p of b.procs) p.kill('SIGKILL');
    rmSync(b.dir, { recursive: true, force: true });
  }, 3000).unref();
}

async function trigger(b: Bench): Promise<string> {
  const r = await fetch(`${b.url}/api/v1/projects/bench/runs`, { method: 'POST', headers: { authorization: `Bearer ${b.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ sha: b.sha }) });
  if (r.status !== 201) throw new Error(`trigger: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

/** Reads a run's event stream until `until` is seen; returns the events' `at` by type. */
async function events(b: Bench, run: string, until: string): Promise<Map<string, number>> {
  const res = await fetch(`${b.url}/api/v1/events?run=${run}`, { headers: { authorization: `Bearer ${b.admin}` } });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const seen = new Map<string, number>();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const e = JSON.parse(data.slice(6)) as { type: string; at: string; run: { status: string }; data: Record<string, unknown> };
        if (e.type === 'job.lost') seen.set(`job.lost: ${String(e.data.reason)}`, 0);
        if (!seen.has(e.type)) seen.set(e.type, Date.parse(e.at));
        if (e.type === until || ['succeeded', 'failed', 'cancelled'].includes(e.run.status)) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return seen;
}

export async function benchServer(): Promise<Row[]> {
  const rows: Row[] = [];
  const b = await setUp(1);
  try {
    const lat: number[] = [];
    const parts = { created: [] as number[], dispatched: [] as number[], started: [] as number[] };
    for (let i = 0; i < 210; i++) {
      const t0 = epochMs();
      const run = await trigger(b);
      const seen = await events(b, run, 'job.finished');
      const first = seen.get('step.started');
      if (first === undefined) {
        const logs = ['serve.log', 'agent-0.log'].map((f) => `${f}:\n${readFileSync(join(b.dir, f), 'utf8')}`).join('\n');
        throw new Error(`run ${run} never started a step: saw ${[...seen.keys()].join(', ')}\n${logs}`);
      }
      if (i >= 10) {
        lat.push(first - t0);
        parts.created.push((seen.get('run.created') ?? t0) - t0);
        parts.dispatched.push((seen.get('stage.dispatched') ?? first) - (seen.get('run.created') ?? t0));
        parts.started.push(first - (seen.get('stage.dispatched') ?? first));
      }
    }
    const p50 = median(lat);
    const p99 = percentile(lat, 99);
    rows.push({ name: 'trigger → first step started, 200 runs (p50)', value: fmtMs(p50), target: '< 20 ms', ok: p50 < 20, note: '(Buildbot measured here: 161 ms)' });
    rows.push({ name: 'trigger → first step started, 200 runs (p99)', value: fmtMs(p99), target: '< 50 ms', ok: p99 < 50 });
    rows.push({
      name: 'where the median goes',
      value: `${fmtMs(median(parts.created))} + ${fmtMs(median(parts.dispatched))} + ${fmtMs(median(parts.started))}`,
      note: '(trigger → run recorded; → an agent took the stage; → its first step started)',
    });
  } finally {
    tearDown(b);
  }
  const c = await setUp(4);
  try {
    const n = 500;
    const t0 = epochMs();
    const ids: string[] = [];
    // Queue them all (a few requests in flight at a time), then wait for the last to finish.
    for (let i = 0; i < n; i += 10) ids.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => trigger(c)))));
    const queued = epochMs() - t0;
    const h = { authorization: `Bearer ${c.admin}` };
    for (;;) {
      const r = (await (await fetch(`${c.url}/api/v1/runs?limit=500`, { headers: h })).json()) as { runs: Array<{ status: string }> };
      if (r.runs.every((x) => ['succeeded', 'failed', 'cancelled'].includes(x.status))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const total = (epochMs() - t0) / 1000;
    rows.push({ name: `${n} one-step runs on 4 agents`, value: `${(n / total).toFixed(1)} runs/s`, note: `(${total.toFixed(1)} s in all; queuing them took ${fmtMs(queued)})` });
  } finally {
    tearDown(c);
  }
  return rows;
}

export async function printServer(): Promise<void> {
  printSection('Server: otto serve with otto agent', await benchServer());
}
