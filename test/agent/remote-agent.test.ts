// The remote agent end to end against a fake server on a real socket: registration, long-poll
// claims, numbered events across a server outage, cancels, heartbeats, workspaces from git.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AssignedJob } from '../../src/protocol/agent-http.js';
import type { AgentEvent, StageJob } from '../../src/protocol/agent.js';
import type { Op } from '../../src/protocol/plan.js';
import {
  RemoteAgent,
  resolveRemoteAgentOptions,
  type RemoteAgentOptions,
} from '../../src/agent/remote/index.js';
import { runRemoteAgent } from '../../src/agent/remote-main.js';
import { FakeServer } from './remote-fake-server.js';
import { job, runproc, sleep, tempDir } from './helpers.js';

interface Repo {
  readonly dir: string;
  commit(files: Record<string, string>, message: string): string;
}

function makeRepo(dir: string): Repo {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  git('-c', 'init.defaultBranch=main', 'init', '-q');
  return {
    dir,
    commit(files, message) {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
  };
}

let counter = 0;

function assigned(
  repo: Repo,
  sha: string,
  ops: Op[],
  extra: Partial<StageJob> = {},
  from: AssignedJob['workspaceFrom'] = null,
): AssignedJob {
  const stagePath = extra.stagePath ?? `stage${++counter}`;
  const runId = extra.runId ?? 'run1';
  return {
    job: job('/not/used/by/remote/agents', ops, {
      runId,
      stagePath,
      jobId: `${runId}/${stagePath}#1`,
      ...extra,
    }),
    source: { repo: repo.dir, sha },
    workspaceFrom: from,
  };
}

async function startAgent(
  t: TestContext,
  server: FakeServer,
  extra: Partial<RemoteAgentOptions> = {},
): Promise<{ agent: RemoteAgent; log: string[]; done: Promise<number> }> {
  const dir = await tempDir(t);
  const log: string[] = [];
  const agent = new RemoteAgent(
    resolveRemoteAgentOptions({
      server: server.url,
      token: server.token,
      name: 'agent-a',
      labels: 'linux, gpu',
      jobs: 2,
      workDir: join(dir, 'agent'),
      libraryCache: join(dir, 'libraries'),
      capabilities: ['local'],
      backoff: { initialMs: 20, maxMs: 200 },
      requestTimeoutMs: 5000,
      drainTimeoutMs: 3000,
      version: '9.9.9',
      log: (line) => log.push(line),
      ...extra,
    }),
  );
  const done = agent.start();
  t.after(async () => {
    agent.stop('the test ended');
    await done;
  });
  return { agent, log, done };
}

async function fakeServer(t: TestContext): Promise<FakeServer> {
  const server = new FakeServer();
  await server.up();
  t.after(() => server.down());
  return server;
}

function seqs(events: readonly { eventSeq: number }[]): number[] {
  return events.map((e) => e.eventSeq);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** Checks a job's stored stream: numbered 1..n, started first, finished last, log chunks 1..lastSeq. */
function assertComplete(
  server: FakeServer,
  jobId: string,
): Extract<AgentEvent, { type: 'job-finished' }> {
  const stored = server.jobs.get(jobId)!.stored;
  assert.deepEqual(seqs(stored), range(stored.length));
  assert.equal(stored[0]!.event.type, 'job-started');
  const fin = stored.at(-1)!.event;
  assert.equal(fin.type, 'job-finished');
  const chunks = server.events(jobId).flatMap((e) => (e.type === 'logs' ? e.chunks : []));
  assert.deepEqual(
    chunks.map((c) => c.seq),
    range(chunks.length),
  );
  assert.equal((fin as Extract<AgentEvent, { type: 'job-finished' }>).lastSeq, chunks.length);
  return fin as Extract<AgentEvent, { type: 'job-finished' }>;
}

test('registers, starts a queued job within milliseconds of queueing, numbers its events, heartbeats', async (t) => {
  const server = await fakeServer(t);
  server.heartbeatMs = 150;
  // A long wait: a job that started only when a claim expired would take seconds.
  server.claimWaitMs = 5000;
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ README: 'hello\n' }, 'first');
  const { agent } = await startAgent(t, server);

  await server.waitFor('registration', () => server.registers.length === 1);
  assert.deepEqual(server.registers[0], {
    protocol: 1,
    name: 'agent-a',
    labels: ['linux', 'gpu'],
    capabilities: ['local'],
    maxJobs: 2,
    version: '9.9.9',
  });
  await server.waitFor('the registration answer', () => agent.agentId === 'agent-1');

  // The first job clones the repository; the second finds the commit in the mirror.
  const warm = server.enqueue(assigned(repo, sha, [runproc(1, 'echo warm')]));
  await server.waitFor('warm-up job', () => server.finished(warm.assigned.job.jobId));

  const markerDir = await tempDir(t);
  await server.waitFor('an open claim', () => server.openClaims === 1);
  await sleep(50);
  const marker = join(markerDir, 'started');
  const timed = server.enqueue(
    assigned(repo, sha, [runproc(1, `date +%s%3N > ${marker}; echo hello; sleep 0.4`)]),
  );
  const queuedWall = Date.now();
  const jobId = timed.assigned.job.jobId;
  await server.waitFor('job-started', () => server.jobs.get(jobId)!.stored.length > 0);
  const fin = await server.waitFor('job-finished', () => server.finished(jobId));

  const toAssigned = timed.assignedAt! - timed.queuedAt;
  const startedEvent = server.jobs.get(jobId)!.stored[0]!;
  const toJobStarted = startedEvent.receivedAt - timed.queuedAt;
  const toProcess = Number(readFileSync(marker, 'utf8')) - queuedWall;
  t.diagnostic(
    `queued → assigned ${toAssigned.toFixed(1)} ms, → job-started stored ${toJobStarted.toFixed(1)} ms, → step process running ${toProcess.toFixed(0)} ms`,
  );
  assert.ok(toAssigned < 20, `assigned after ${toAssigned} ms`);
  assert.ok(toJobStarted < 150, `job-started stored after ${toJobStarted} ms`);
  assert.ok(toProcess < 500, `step started after ${toProcess} ms`);

  assert.equal(fin.outcome, 'succeeded');
  assertComplete(server, jobId);
  assert.equal(server.logs(jobId, 'stdout'), 'hello\n');
  assert.match(
    server.logs(jobId, 'system'),
    new RegExp(`workspace: ${repo.dir} at ${sha} \\(already fetched`),
  );
  assert.equal(server.jobs.get(jobId)!.duplicates, 0);

  // Heartbeats every 150 ms, listing the job while it ran.
  await server.waitFor('heartbeats', () => server.heartbeats.length >= 6);
  const at = server.heartbeats.map((h) => h.at);
  const gaps = at.slice(1).map((a, i) => a - at[i]!);
  t.diagnostic(`heartbeat intervals: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  for (const g of gaps) assert.ok(g > 100 && g < 400, `heartbeat interval ${g} ms`);
  assert.ok(server.heartbeats.some((h) => h.jobs.includes(jobId)));
  assert.ok(server.heartbeats.every((h) => h.agentId === 'agent-1'));
  // Finished and acknowledged: no longer reported.
  await server.waitFor(
    'a heartbeat without the job',
    () => server.heartbeats.at(-1)!.jobs.length === 0,
  );
});

test('the server goes away while a step prints: the step goes on and every event arrives once, in order', async (t) => {
  const server = await fakeServer(t);
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  // Small buffers, so that the outage also spills events to disk and sends them in many batches.
  const { log } = await startAgent(t, server, { outbox: { memoryBytes: 2048, batchBytes: 1024 } });
  const script = 'i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo "line $i"; sleep 0.02; done';
  const fj = server.enqueue(assigned(repo, sha, [runproc(1, script), runproc(2, 'echo after')]));
  const jobId = fj.assigned.job.jobId;
  await server.waitFor('the first lines', () => server.logs(jobId, 'stdout').includes('line 3\n'));
  // Stored, but the answer never arrives: the agent sends those events again.
  server.loseAnswers = 2;
  await server.waitFor('lost answers', () => server.loseAnswers === 0);
  await server.down();
  const storedAtOutage = fj.stored.length;
  await sleep(900);
  await server.up();
  const fin = await server.waitFor('job-finished', () => server.finished(jobId), 10_000);

  assert.equal(fin.outcome, 'succeeded');
  assertComplete(server, jobId);
  const expected = range(60)
    .map((i) => `line ${i}\n`)
    .join('');
  assert.equal(server.logs(jobId, 'stdout'), `${expected}after\n`);
  assert.equal(fj.gaps, 0);
  assert.ok(fj.stored.length > storedAtOutage);
  // The step ran through the outage: it took its full time, not a pause for the server.
  assert.ok(fin.durationMs < 5000);
  t.diagnostic(`redelivered duplicates ignored by the server: ${fj.duplicates}`);
  assert.ok(fj.duplicates > 0);
  assert.ok(
    log.some((l) => l.startsWith('cannot reach the server')),
    log.join('\n'),
  );
  assert.ok(
    log.some((l) => l.startsWith('the server answers again')),
    log.join('\n'),
  );
});

test('a cancel in the claim answer stops the step (SIGTERM reaches it); the freed slot takes the next job at once', async (t) => {
  const server = await fakeServer(t);
  server.claimWaitMs = 5000;
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  const dir = await tempDir(t);
  const marker = join(dir, 'term');
  // One slot: while the job runs, the agent's claim has free: 0 and only listens for cancels.
  await startAgent(t, server, { jobs: 1 });
  const script = `trap 'echo term > ${marker}; exit 143' TERM; echo ready; while :; do sleep 0.05; done`;
  const fj = server.enqueue(
    assigned(repo, sha, [runproc(1, script), runproc(2, 'echo never')], { graceMs: 2000 }),
  );
  const jobId = fj.assigned.job.jobId;
  await server.waitFor('ready', () => server.logs(jobId, 'stdout').includes('ready'));
  await server.waitFor(
    'a listening claim',
    () => server.openClaims === 1 && server.claims.at(-1)!.free === 0,
  );

  const cancelledAt = performance.now();
  server.cancel(jobId, 'cancelled by the test');
  const fin = await server.waitFor('job-finished', () => server.finished(jobId));
  t.diagnostic(
    `cancel → job-finished stored in ${(performance.now() - cancelledAt).toFixed(0)} ms`,
  );
  assert.equal(fin.outcome, 'cancelled');
  assert.equal(readFileSync(marker, 'utf8'), 'term\n');
  assertComplete(server, jobId);
  const steps = server.events(jobId).filter((e) => e.type === 'step-finished');
  assert.deepEqual(
    steps.map((s) => s.status),
    ['cancelled', 'skipped'],
  );

  // The slot is free again: a claim with free: 1 replaces the listening one without waiting for it to expire.
  await server.waitFor(
    'a claim with a free slot',
    () => server.openClaims === 1 && server.claims.at(-1)!.free === 1,
  );
  const next = server.enqueue(assigned(repo, sha, [runproc(1, 'echo next')]));
  await server.waitFor('the next job', () => server.finished(next.assigned.job.jobId));
  assert.ok(next.assignedAt! - next.queuedAt < 20);
});

test('workspaces: a checkout at the exact commit, without .git; runtime { from } copies the earlier workspace', async (t) => {
  const server = await fakeServer(t);
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const first = repo.commit({ 'version.txt': 'one\n', 'tool.sh': 'echo tool\n' }, 'first');
  await startAgent(t, server);

  const build = server.enqueue(
    assigned(
      repo,
      first,
      [runproc(1, 'cat version.txt; test ! -e .git; sh tool.sh; echo built > out.txt; pwd')],
      { stagePath: 'Build/Linux' },
    ),
  );
  const buildId = build.assigned.job.jobId;
  assert.equal(
    (await server.waitFor('build', () => server.finished(buildId))).outcome,
    'succeeded',
  );
  const buildOut = server.logs(buildId, 'stdout').split('\n');
  assert.deepEqual(buildOut.slice(0, 2), ['one', 'tool']);
  assert.match(buildOut[2]!, /\/runs\/run1\/Build_Linux-[0-9a-f]+$/);

  // A later commit: the mirror fetches it.
  const second = repo.commit({ 'version.txt': 'two\n' }, 'second');
  const other = server.enqueue(assigned(repo, second, [runproc(1, 'cat version.txt')]));
  assert.equal(
    (await server.waitFor('second', () => server.finished(other.assigned.job.jobId))).outcome,
    'succeeded',
  );
  assert.equal(server.logs(other.assigned.job.jobId, 'stdout'), 'two\n');
  assert.match(server.logs(other.assigned.job.jobId, 'system'), /\(fetched in \d+ ms/);

  const test2 = server.enqueue(
    assigned(
      repo,
      first,
      [runproc(1, 'cat out.txt version.txt; echo tested > out.txt')],
      { stagePath: 'Test' },
      { stage: 'Build/Linux', jobId: buildId },
    ),
  );
  const testId = test2.assigned.job.jobId;
  assert.equal((await server.waitFor('test', () => server.finished(testId))).outcome, 'succeeded');
  assert.equal(server.logs(testId, 'stdout'), 'built\none\n');
  assert.match(server.logs(testId, 'system'), /workspace: a copy of stage Build\/Linux's/);
  // A copy: the earlier workspace is untouched.
  assert.equal(readFileSync(join(buildOut[2]!, 'out.txt'), 'utf8'), 'built\n');

  const orphan = server.enqueue(
    assigned(
      repo,
      first,
      [runproc(1, 'echo never')],
      { stagePath: 'Deploy' },
      { stage: 'Elsewhere', jobId: 'run1/Elsewhere#1' },
    ),
  );
  const orphanId = orphan.assigned.job.jobId;
  const fin = await server.waitFor('orphan', () => server.finished(orphanId));
  assert.equal(fin.outcome, 'failed');
  assert.match(
    fin.message,
    /starts from the workspace of stage Elsewhere \(job run1\/Elsewhere#1\), but that job did not run on agent agent-a/,
  );
  assertComplete(server, orphanId);
  assert.deepEqual(
    server
      .events(orphanId)
      .filter((e) => e.type === 'step-finished')
      .map((e) => e.status),
    ['skipped'],
  );

  const missing = server.enqueue(assigned(repo, 'f'.repeat(40), [runproc(1, 'echo never')]));
  const missingFin = await server.waitFor('missing commit', () =>
    server.finished(missing.assigned.job.jobId),
  );
  assert.equal(missingFin.outcome, 'failed');
  assert.match(missingFin.message, /could not prepare the workspace: commit f{40} is not in /);
});

test('stopping cancels running steps, delivers their last events, and exits 0', async (t) => {
  const server = await fakeServer(t);
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  const dir = await tempDir(t);
  const marker = join(dir, 'term');
  const { agent, done } = await startAgent(t, server);
  const fj = server.enqueue(
    assigned(repo, sha, [
      runproc(
        1,
        `trap 'echo term > ${marker}; exit 143' TERM; echo ready; while :; do sleep 0.05; done`,
      ),
    ]),
  );
  const jobId = fj.assigned.job.jobId;
  await server.waitFor('ready', () => server.logs(jobId, 'stdout').includes('ready'));
  agent.stop('SIGTERM');
  assert.equal(await done, 0);
  assert.equal(server.finished(jobId)?.outcome, 'cancelled');
  assert.match(server.finished(jobId)!.message, /agent agent-a is stopping: SIGTERM/);
  assert.ok(existsSync(marker));
  assertComplete(server, jobId);
  // No claim is left open once stopped.
  await server.waitFor('claims closed', () => server.openClaims === 0, 2000);
});

test('a token the server refuses ends the agent with a clear message; bad options are usage errors', async (t) => {
  const server = await fakeServer(t);
  const { log, done } = await startAgent(t, server, { token: 'a-different-token-entirely' });
  assert.equal(await done, 1);
  assert.match(
    log.join('\n'),
    /refused the agent's token \(HTTP 401\): unknown or revoked token; check --token or OTTO_AGENT_TOKEN/,
  );

  const lines: string[] = [];
  assert.equal(await runRemoteAgent({ server: server.url, log: (l) => lines.push(l) }, {}), 2);
  assert.match(lines.join('\n'), /no agent token: set OTTO_AGENT_TOKEN/);
  assert.equal(
    await runRemoteAgent({ server: 'ftp://x', token: 't', log: (l) => lines.push(l) }, {}),
    2,
  );
  assert.equal(
    await runRemoteAgent(
      { server: server.url, token: 't', jobs: '0', log: (l) => lines.push(l) },
      {},
    ),
    2,
  );
  assert.match(lines.join('\n'), /--jobs must be a whole number of at least 1, not '0'/);
  assert.equal(await runRemoteAgent({ server: server.url, token: 't', log: (l) => lines.push(l) }, { OTTO_STEP_ENV: 'HTTPS_PROXY,no-such-name' }), 2);
  assert.match(lines.join('\n'), /OTTO_STEP_ENV names 'no-such-name', which is not a variable name: list variable names separated by commas/);
});

test('OTTO_STEP_ENV: the variables it names join this machine’s environment in every job', () => {
  const o = resolveRemoteAgentOptions({ server: 'http://127.0.0.1:1', token: 't' }, { PATH: '/bin', HOME: '/root', HTTPS_PROXY: 'http://proxy:3128', SECRET: 'x', OTTO_STEP_ENV: 'HTTPS_PROXY, NOT_SET' });
  assert.deepEqual(o.machineEnv, { HTTPS_PROXY: 'http://proxy:3128', PATH: '/bin', HOME: '/root' });
});

test("a job the server no longer counts as this agent's is stopped and its events dropped", async (t) => {
  const server = await fakeServer(t);
  server.heartbeatMs = 100;
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  const marker = join(await tempDir(t), 'term');
  const { log } = await startAgent(t, server);
  const fj = server.enqueue(
    assigned(repo, sha, [
      runproc(
        1,
        `trap 'echo term > ${marker}; exit 143' TERM; echo ready; while :; do sleep 0.05; done`,
      ),
    ]),
  );
  const jobId = fj.assigned.job.jobId;
  await server.waitFor('ready', () => server.logs(jobId, 'stdout').includes('ready'));
  server.jobs.delete(jobId); // as after the server gave the stage to another agent
  await server.waitFor('the step stopped', () => existsSync(marker));
  await server.waitFor('heartbeats without it', () => server.heartbeats.at(-1)!.jobs.length === 0);
  assert.ok(
    log.some((l) => l.includes(`job ${jobId}: the server`)),
    log.join('\n'),
  );
});

test('otto agent as a process: SIGTERM cancels the running step, reports it, and the process exits 0 by itself', async (t) => {
  const server = await fakeServer(t);
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  const dir = await tempDir(t);
  const main = pathToFileURL(join(import.meta.dirname, '../../src/agent/remote-main.js')).href;
  const script = `const { runRemoteAgent } = await import(${JSON.stringify(main)});
process.exitCode = await runRemoteAgent({ server: process.env.SERVER, name: 'proc', jobs: '1', workDir: process.env.WD });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      SERVER: server.url,
      WD: join(dir, 'wd'),
      OTTO_AGENT_TOKEN: server.token,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));

  const fj = server.enqueue(
    assigned(repo, sha, [runproc(1, 'echo ready; while :; do sleep 0.05; done')]),
  );
  const jobId = fj.assigned.job.jobId;
  await server.waitFor('ready', () => server.logs(jobId, 'stdout').includes('ready'));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.equal(server.finished(jobId)?.outcome, 'cancelled');
  assertComplete(server, jobId);
  assert.match(stderr, /otto agent: registered with http:\/\/127\.0\.0\.1:\d+ as proc/);
  assert.match(stderr, /otto agent: stopping \(received SIGTERM\); cancelling 1 job\(s\)/);
});

test('artifacts: a store shared at the same path works across jobs; a store only the server has fails the stage clearly', async (t) => {
  const server = await fakeServer(t);
  const repo = makeRepo(join(await tempDir(t), 'repo'));
  const sha = repo.commit({ 'a.txt': 'a\n' }, 'first');
  const shared = await tempDir(t);
  await startAgent(t, server);

  const store = server.enqueue(
    assigned(
      repo,
      sha,
      [
        runproc(0, 'mkdir -p dist && echo hi > dist/a.txt'),
        { op: 'STORE', step: 90, artifact: 'site', patterns: ['dist/**'], cwd: '.' },
      ],
      { objects: { kind: 'local', dir: shared } },
    ),
  );
  const stored = await server.waitFor('store', () => server.finished(store.assigned.job.jobId));
  assert.equal(stored.outcome, 'succeeded', stored.message);
  assert.deepEqual(
    stored.artifacts.map((a) => a.name),
    ['site'],
  );
  const fetch = server.enqueue(
    assigned(
      repo,
      sha,
      [{ op: 'FETCH', step: 91, artifact: 'site', into: 'got' }, runproc(1, 'cat got/a.txt')],
      {
        objects: { kind: 'local', dir: shared },
      },
    ),
  );
  const fetched = await server.waitFor('fetch', () => server.finished(fetch.assigned.job.jobId));
  assert.equal(fetched.outcome, 'succeeded', fetched.message);
  assert.equal(server.logs(fetch.assigned.job.jobId, 'stdout'), 'hi\n');

  const away = server.enqueue(
    assigned(repo, sha, [{ op: 'STORE', step: 90, artifact: 'site', patterns: ['a.txt'], cwd: '.' }], {
      objects: { kind: 'local', dir: '/nonexistent/otto/objects' },
    }),
  );
  const fin = await server.waitFor('away', () => server.finished(away.assigned.job.jobId));
  assert.equal(fin.outcome, 'failed');
  assert.match(
    fin.message,
    /the object store \/nonexistent\/otto\/objects is a directory on the server's machine, not on this agent's/,
  );
  assert.ok(!existsSync('/nonexistent/otto/objects'));
});
