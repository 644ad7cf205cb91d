// `otto serve` with two real `otto agent`s over 127.0.0.1: runs triggered by the API and by signed
// GitHub and GitLab push webhooks (for the exact commit pushed; a branch the triggers do not match
// is answered 202 triggered:false), label routing between the agents, followed logs, server-sent
// events resumed with Last-Event-ID, /metrics and the OpenAPI document.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Api,
  deferred,
  dispatchedTo,
  Env,
  followLogs,
  type GitRepo,
  githubPush,
  gitlabPush,
  postRaw,
  readSse,
  type RunView,
  stageOf,
} from './server-helpers.js';

const SECRET = 'flow-webhook-secret';

const OTTOFILE = `pipeline {
  triggers { push { branches = ['main'] } }
  stage('Build') {
    runtime { computer { label = 'general' } }
    steps { sh 'for i in $(seq 1 40); do echo "build line $i"; sleep 0.03; done' }
  }
  parallel {
    stage('LinuxA') {
      runtime { computer { label = 'linux' } }
      steps { sh 'echo "on linux a"' }
    }
    stage('LinuxB') {
      runtime { computer { label = 'linux' } }
      steps { sh 'echo "on linux b"' }
    }
  }
}
`;

/** Every route these tests call, as method + path (checked against the OpenAPI document). */
const ROUTES_USED: Array<[string, string]> = [
  ['post', '/api/v1/projects'],
  ['post', '/api/v1/projects/flow/runs'],
  ['get', '/api/v1/runs'],
  ['get', '/api/v1/runs/1'],
  ['get', '/api/v1/runs/1/stages/Build/logs'],
  ['get', '/api/v1/events'],
  ['get', '/api/v1/events/runs'],
  ['get', '/api/v1/agents'],
  ['post', '/api/v1/hooks/github'],
  ['post', '/api/v1/hooks/gitlab'],
  ['get', '/api/v1/health'],
  ['get', '/metrics'],
  // the other test files
  ['post', '/api/v1/runs/1/stages/Approve/approve'],
  ['post', '/api/v1/runs/1/cancel'],
  ['post', '/api/v1/callbacks/abcdefghijklmnop'],
  ['get', '/api/v1/audit'],
  ['get', '/api/v1/projects'],
  ['get', '/api/v1/runs/1/plan'],
  ['post', '/api/v1/agent/register'],
  ['get', '/api/v1/runs/1/artifacts/report.txt'],
];

describe('otto serve with two agents', { timeout: 120_000 }, () => {
  let env: Env;
  let repo: GitRepo;
  let operator: Api;
  let viewer: Api;
  /** Runs these tests made, for the metrics checks. */
  const runs: string[] = [];

  const cleanup = deferred();
  after(() => cleanup.run());

  before(async () => {
    env = await Env.create(cleanup);
    // Explicit: the default is tested on its own (agent-loss.test.ts), so one bug does not hide others.
    await env.startServer({ agentTimeoutS: 30 });
    await Promise.all([
      env.startAgent('general-agent', { labels: 'general' }),
      env.startAgent('linux-agent', { labels: 'linux' }),
    ]);
    repo = env.repo('flow', { Ottofile: OTTOFILE });
    await env.project('flow', repo, SECRET);
    operator = env.api('operator');
    viewer = env.api('viewer');
  });

  it('an API trigger runs HEAD of main to completion, each stage on the agent with its label', async () => {
    const created = await operator.trigger('flow');
    runs.push(created.id);
    assert.equal(created.trigger.sha, repo.head('main'));
    assert.equal(created.trigger.actor, 'operator');
    const run = await viewer.waitRun(created.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    for (const s of ['Build', 'LinuxA', 'LinuxB'])
      assert.equal(stageOf(run, s).status, 'succeeded');

    const events = await viewer.events(run.id);
    assert.deepEqual(dispatchedTo(events, 'Build'), ['general-agent']);
    assert.deepEqual(dispatchedTo(events, 'LinuxA'), ['linux-agent']);
    assert.deepEqual(dispatchedTo(events, 'LinuxB'), ['linux-agent']);

    // The workspace line each agent writes names its own work directory.
    const build = await viewer.logs(run.id, 'Build');
    assert.match(build, new RegExp(`workspace ${reEscape(env.root)}/agent-general-agent/`), build);
    const linux = await viewer.logs(run.id, 'LinuxA');
    assert.match(linux, new RegExp(`workspace ${reEscape(env.root)}/agent-linux-agent/`), linux);
    assert.match(linux, /on linux a/);
  });

  it("the runs stream says which of a project's runs changed, and only that project's", async () => {
    const other = env.repo('elsewhere', { Ottofile: "pipeline {\n  stage('Go') {\n    runtime { computer { label = 'general' } }\n    steps { sh 'echo go' }\n  }\n}\n" });
    await env.project('elsewhere', other);
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    let mine = '';
    const seen = readSse(viewer, '', {
      path: '/api/v1/events/runs?project=flow',
      opened,
      timeoutMs: 60_000,
      until: (_e, all) => mine !== '' && all.some((x) => (x.data.runs as string[]).includes(mine)),
    });
    await open;
    const theirs = await operator.trigger('elsewhere');
    runs.push(theirs.id);
    const created = await operator.trigger('flow');
    mine = created.id;
    runs.push(created.id);
    const events = await seen;
    assert.ok(events.length > 0 && events.every((e) => e.event === 'runs'), JSON.stringify(events));
    const ids = new Set(events.flatMap((e) => e.data.runs as string[]));
    assert.ok(ids.has(created.id), `run ${created.id} in ${[...ids].join(', ')}`);
    assert.ok(!ids.has(theirs.id), "another project's run is not sent");
    assert.equal((await viewer.waitRun(created.id)).status, 'succeeded');
    assert.equal((await viewer.waitRun(theirs.id)).status, 'succeeded');
    const missing = await viewer.get('/api/v1/events/runs?project=no-such-project');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /there is no project 'no-such-project'/);
  });

  it('an API trigger naming a sha runs that commit', async () => {
    const older = repo.head('main');
    repo.commit({ 'newer.txt': 'newer\n' }, 'a newer commit');
    const created = await operator.trigger('flow', { sha: older });
    runs.push(created.id);
    assert.equal(created.trigger.sha, older);
    assert.equal((await viewer.waitRun(created.id)).status, 'succeeded');
  });

  it("a pipeline whose triggers name only api { } refuses a manual trigger with 409 and the fix, and runs an API one", async () => {
    const only = env.repo('api-only', {
      Ottofile: `pipeline {
  triggers { api { } }
  stage('Go') {
    runtime { computer { label = 'general' } }
    steps { sh 'echo go' }
  }
}
`,
    });
    await env.project('api-only', only);
    const count = await runCount(viewer);
    const refused = await operator.post('/api/v1/projects/api-only/runs', { event: 'manual' });
    assert.equal(refused.status, 409, refused.text);
    assert.deepEqual(refused.json, {
      error: {
        code: 'conflict',
        message: "the pipeline's triggers have no manual { }: add `manual { }` to its triggers to start runs this way",
      },
    });
    assert.equal(await runCount(viewer), count, 'no run was created');
    const created = await operator.trigger('api-only');
    runs.push(created.id);
    assert.equal(created.trigger.event, 'api');
    assert.equal((await viewer.waitRun(created.id)).status, 'succeeded');
  });

  it('GET /api/v1/agents shows both agents with their labels', async () => {
    const r = await viewer.get('/api/v1/agents');
    assert.equal(r.status, 200);
    const byName = new Map(
      (r.json.agents as Array<{ name: string; labels: string[]; state: string }>).map((a) => [
        a.name,
        a,
      ]),
    );
    assert.deepEqual(byName.get('linux-agent')?.labels, ['linux']);
    assert.deepEqual(byName.get('general-agent')?.labels, ['general']);
    assert.notEqual(byName.get('linux-agent')?.state, 'offline');
  });

  it('a signed GitHub push runs the exact commit pushed, not the branch head', async () => {
    const before = repo.head('main');
    const pushed = repo.commit({ 'a.txt': 'one\n' }, 'pushed commit');
    repo.commit({ 'b.txt': 'two\n' }, 'a later commit on main');
    const hook = githubPush(SECRET, {
      ref: 'refs/heads/main',
      after: pushed,
      before,
      repo: repo.dir,
    });
    const r = await postRaw(
      `${env.server.url}/api/v1/hooks/github?project=flow`,
      hook.body,
      hook.headers,
    );
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.triggered, true);
    const id = r.json.run.id as string;
    runs.push(id);
    const run = await viewer.waitRun(id);
    assert.equal(run.trigger.sha, pushed);
    assert.equal(run.trigger.branch, 'main');
    assert.equal(run.trigger.event, 'push');
    assert.equal(run.status, 'succeeded');
  });

  it('a push to a branch the triggers do not match is answered 202 triggered:false with a reason, and no run', async () => {
    const sha = repo.commitOn('feature/x', { 'f.txt': 'feature\n' }, 'feature work');
    const count = await runCount(viewer);
    // The first push of a new branch: GitHub sends before = 40 zeros.
    const hook = githubPush(SECRET, {
      ref: 'refs/heads/feature/x',
      after: sha,
      before: '0'.repeat(40),
      repo: repo.dir,
    });
    const r = await postRaw(
      `${env.server.url}/api/v1/hooks/github?project=flow`,
      hook.body,
      hook.headers,
    );
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.triggered, false);
    assert.equal(typeof r.json.reason, 'string');
    assert.match(r.json.reason as string, /feature\/x/);
    assert.equal(await runCount(viewer), count, 'no run was created');
  });

  it('a GitLab push with the right X-Gitlab-Token runs the commit pushed', async () => {
    const pushed = repo.commit({ 'c.txt': 'gitlab\n' }, 'gitlab push');
    repo.commit({ 'd.txt': 'later\n' }, 'a later commit on main');
    // before = zeros (a first push) so that this test does not depend on the `before` handling
    // the GitHub test above covers.
    const hook = gitlabPush(SECRET, {
      ref: 'refs/heads/main',
      after: pushed,
      before: '0'.repeat(40),
      repo: repo.dir,
    });
    const r = await postRaw(
      `${env.server.url}/api/v1/hooks/gitlab?project=flow`,
      hook.body,
      hook.headers,
    );
    assert.equal(r.status, 201, r.text);
    const id = r.json.run.id as string;
    runs.push(id);
    const run = await viewer.waitRun(id);
    assert.equal(run.trigger.sha, pushed);
    assert.equal(run.status, 'succeeded');
  });

  it('?follow=1 ends when the stage ends and holds every line; SSE ids are numbered and Last-Event-ID resumes without gap or duplicate', async () => {
    const created = await operator.trigger('flow');
    runs.push(created.id);
    // Both streams start while the run is young.
    const followed = followLogs(viewer, created.id, 'Build', 20_000);
    // Awaited below; should an assertion fail first, its failure must not crash the process.
    followed.catch(() => undefined);
    const first = await readSse(viewer, created.id, {
      until: (_e, all) => all.length >= 4,
      timeoutMs: 10_000,
    });
    assert.ok(first.length >= 4, `4 events before disconnecting, got ${first.length}`);
    const lastId = first.at(-1)!.id!;
    const rest = await readSse(viewer, created.id, {
      lastEventId: lastId,
      until: (e) => ['succeeded', 'failed', 'cancelled'].includes(e.data.run?.status),
      timeoutMs: 20_000,
    });

    const logs = await followed;
    assert.equal(logs.status, 200);
    assert.ok(logs.ended, 'the follow ended by itself when the stage ended');
    const lines = logs.text.split('\n').filter((l) => l.startsWith('build line '));
    assert.deepEqual(
      lines,
      Array.from({ length: 40 }, (_, i) => `build line ${i + 1}`),
      `every line once, in order:\n${logs.text}`,
    );

    const ids = [...first, ...rest].map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, i) => i + 1),
      'ids 1..N with no gap or duplicate across the reconnect',
    );
    const all = await viewer.events(created.id);
    assert.deepEqual(
      all.map((e) => Number(e.id)),
      ids,
      'the resumed stream saw exactly what a full read sees',
    );
    for (const e of [...first, ...rest])
      assert.equal(e.event, e.data.type, 'the SSE event name is the event type');
  });

  it('?follow=1 holds every line of a stage that prints up to its last moment (3 runs)', async () => {
    for (let i = 0; i < 3; i++) {
      const created = await operator.trigger('flow');
      runs.push(created.id);
      const logs = await followLogs(viewer, created.id, 'Build', 20_000);
      assert.ok(logs.ended);
      const lines = logs.text.split('\n').filter((l) => l.startsWith('build line '));
      assert.equal(
        lines.length,
        40,
        `run ${created.id}: the followed log has all 40 lines, got ${lines.length}; last: ${lines.at(-1)}`,
      );
      await viewer.waitRun(created.id);
    }
  });

  it('/metrics is Prometheus text with runs, stage durations, queue wait, agents and log bytes', async () => {
    const r = await fetch(`${env.server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    const m = parseProm(text);
    assert.ok((m.get('otto_runs{status="succeeded"}') ?? 0) >= runs.length, text);
    assert.ok((sum(m, 'otto_stage_duration_seconds_count') ?? 0) > 0, 'stage durations observed');
    assert.ok((m.get('otto_queue_wait_seconds_count') ?? 0) > 0, 'queue waits observed');
    assert.ok(
      m.has('otto_agents{state="idle"}') || m.has('otto_agents{state="busy"}'),
      'agents gauge',
    );
    assert.equal(
      (m.get('otto_agents{state="idle"}') ?? 0) + (m.get('otto_agents{state="busy"}') ?? 0),
      2,
      'two agents connected',
    );
    assert.ok((m.get('otto_log_bytes_total') ?? 0) > 0, 'log bytes counted');
    for (const name of [
      'otto_runs',
      'otto_stage_duration_seconds',
      'otto_queue_wait_seconds',
      'otto_agents',
      'otto_log_bytes_total',
    ]) {
      assert.match(
        text,
        new RegExp(`^# TYPE ${name} (gauge|counter|histogram)$`, 'm'),
        `# TYPE line for ${name}`,
      );
    }
  });

  it('/metrics observes each finished stage once in otto_stage_duration_seconds and each dispatch once in the queue wait and dispatch latency', async () => {
    let stages = 0;
    for (const id of runs)
      stages += (await viewer.run(id)).stages.filter(
        (s) => s.status !== 'pending' && s.status !== 'skipped',
      ).length;
    const m = parseProm(await (await fetch(`${env.server.url}/metrics`)).text());
    assert.equal(
      sum(m, 'otto_stage_duration_seconds_count'),
      stages,
      `${stages} stages ran in ${runs.length} runs`,
    );
    assert.equal(m.get('otto_queue_wait_seconds_count'), stages);
    assert.equal(m.get('otto_dispatch_latency_seconds_count'), stages, 'each dispatch reached its first step once');
  });

  it('GET /api/v1/openapi.json is an OpenAPI 3 document listing every route the tests use', async () => {
    const r = await fetch(`${env.server.url}/api/v1/openapi.json`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(r.status, 200);
    const doc = (await r.json()) as OpenApi;
    assert.deepEqual(openApiProblems(doc), []);
    const missing = ROUTES_USED.filter(([method, path]) => !documented(doc, method, path)).map(
      ([m, p]) => `${m.toUpperCase()} ${p}`,
    );
    assert.deepEqual(missing, [], 'every route the tests use is in the document');
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function runCount(api: Api): Promise<number> {
  const r = await api.get('/api/v1/runs?limit=500');
  assert.equal(r.status, 200);
  return (r.json.runs as RunView[]).length;
}

/** Prometheus text to a map from `name{labels}` to value (no histogram buckets). */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    assert.ok(m, `a Prometheus sample line: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

function sum(m: Map<string, number>, name: string): number {
  let n = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) n += v;
  return n;
}

interface OpenApi {
  openapi?: unknown;
  info?: { title?: unknown; version?: unknown };
  paths?: Record<
    string,
    Record<
      string,
      {
        responses?: Record<string, { description?: unknown }>;
        parameters?: Array<{ name: string; in: string; required?: boolean }>;
      }
    >
  >;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The OpenAPI 3.0 rules a generator can get wrong (what a full validator would report). */
function openApiProblems(doc: OpenApi): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+$/.test(doc.openapi))
    problems.push(`openapi is ${String(doc.openapi)}, not 3.x.y`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string')
    problems.push('info.title and info.version are required strings');
  if (!doc.paths || typeof doc.paths !== 'object') return [...problems, 'no paths object'];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`path ${path} does not start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const responses = Object.entries(op.responses ?? {});
      if (responses.length === 0) problems.push(`${method} ${path} has no responses`);
      for (const [code, resp] of responses)
        if (typeof resp.description !== 'string')
          problems.push(`${method} ${path} response ${code} has no description`);
      const params = op.parameters ?? [];
      for (const name of templated) {
        const p = params.find((x) => x.in === 'path' && x.name === name);
        if (!p) problems.push(`${method} ${path}: path parameter {${name}} is not declared`);
        else if (p.required !== true)
          problems.push(`${method} ${path}: path parameter {${name}} must be required`);
      }
      for (const p of params)
        if (p.in === 'path' && !templated.includes(p.name))
          problems.push(`${method} ${path}: path parameter ${p.name} is not in the path`);
    }
  }
  return problems;
}

/** Whether a concrete request path is covered by a templated path of the document. */
function documented(doc: OpenApi, method: string, concrete: string): boolean {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!(method in item)) continue;
    // {*} (a wildcard) spans the rest of the path, {x} one segment.
    const re = new RegExp(
      `^${path
        .replace(/[.+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{\*\}/g, '.+')
        .replace(/\{[^}]+\}/g, '[^/]+')}$`,
    );
    if (re.test(concrete)) return true;
  }
  return false;
}
