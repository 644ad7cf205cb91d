// What `otto serve` refuses, each with its status, a JSON error, and no change of state (runs,
// projects and the audit log stay as they were): no token 401, a weaker role 403, a bad webhook
// signature 401, a malformed body 400, an oversized body 413, an unknown run 404, an artifact name
// that escapes its directory 400. Then `otto audit verify` passes, and fails once one audit row in
// the SQLite file has been changed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  Api,
  deferred,
  ENDED,
  Env,
  waitFor,
  type GitRepo,
  githubPush,
  gitlabPush,
  postLarge,
  postRaw,
  type Reply,
} from './server-helpers.js';

const SECRET = 'refusals-webhook-secret';

describe('refusals change nothing', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;
  let repo: GitRepo;
  let admin: Api;
  let runId: string;

  /** Runs, projects and audit records: what a refused request must leave as it was. */
  async function state(): Promise<string> {
    const runs = (await admin.get('/api/v1/runs?limit=500')).json.runs as Array<{
      id: string;
      status: string;
    }>;
    const projects = (await admin.get('/api/v1/projects')).json.projects as Array<{ name: string }>;
    const audit = (await admin.get('/api/v1/audit?limit=1000')).json.records as Array<{
      id: number;
    }>;
    return JSON.stringify({
      runs: runs.map((r) => `${r.id}:${r.status}`),
      projects: projects.map((p) => p.name),
      audit: audit.length,
    });
  }

  /** Waits until no run is active (a run another check created by mistake must not look like a change here). */
  async function settled(): Promise<void> {
    await waitFor(
      'every run to end',
      async () =>
        ((await admin.get('/api/v1/runs?limit=500')).json.runs as Array<{ status: string }>).every(
          (r) => ENDED.includes(r.status),
        ),
      20_000,
      100,
    );
  }

  /** Asserts the status and the {error: {code, message}} body, and that `state()` did not change. */
  async function refused(what: string, status: number, send: () => Promise<Reply>): Promise<Reply> {
    await settled();
    const before = await state();
    const r = await send().catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`, { cause: e });
    });
    assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
    assert.equal(
      typeof r.json?.error?.code,
      'string',
      `${what}: a JSON error body, got ${r.text.slice(0, 200)}`,
    );
    assert.equal(typeof r.json?.error?.message, 'string');
    assert.equal(await state(), before, `${what} changed nothing`);
    return r;
  }

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30 });
    await env.startAgent('refusals-agent');
    admin = env.api('admin');
    repo = env.repo('refusals', {
      Ottofile: `pipeline {
  stage('Build') {
    steps {
      sh 'echo report > report.txt'
      archive 'report.txt'
    }
  }
}
`,
    });
    await env.project('refusals', repo, SECRET);
    runId = (await env.api('operator').trigger('refusals')).id;
    await env.api('viewer').waitRun(runId);
  });

  it("(setup) the run that archives report.txt succeeded on an agent on the server's machine", async () => {
    const run = await env.api('viewer').run(runId);
    assert.equal(run.status, 'succeeded', run.message);
  });

  it('no token: 401', async () => {
    const none = env.api(null);
    await refused('GET /runs without a token', 401, () => none.get('/api/v1/runs'));
    await refused('trigger without a token', 401, () =>
      none.post('/api/v1/projects/refusals/runs', {}),
    );
    await refused('a token that does not exist', 401, () =>
      new Api(env.server.url, 'otto_not-a-real-token').post('/api/v1/projects/refusals/runs', {}),
    );
    await refused('an events stream without a token', 401, () =>
      none.get(`/api/v1/events?run=${runId}`),
    );
    await refused('logs without a token', 401, () =>
      none.get(`/api/v1/runs/${runId}/stages/Build/logs`),
    );
  });

  it('a weaker role: 403', async () => {
    await refused('a viewer triggers', 403, () =>
      env.api('viewer').post('/api/v1/projects/refusals/runs', {}),
    );
    await refused('an operator creates a project', 403, () =>
      env.api('operator').post('/api/v1/projects', { name: 'nope', repo: repo.dir }),
    );
    await refused('an operator reads the audit log', 403, () =>
      env.api('operator').get('/api/v1/audit'),
    );
    await refused('an agent token reads runs', 403, () => env.api('agent').get('/api/v1/runs'));
    await refused('an agent token triggers', 403, () =>
      env.api('agent').post('/api/v1/projects/refusals/runs', {}),
    );
    await refused('a viewer registers as an agent', 403, () =>
      env.api('viewer').post('/api/v1/agent/register', {
        protocol: 1,
        name: 'sneaky',
        labels: [],
        capabilities: ['local'],
        maxJobs: 1,
        version: '0',
      }),
    );
  });

  it('a bad webhook signature: 401 (GitHub HMAC and GitLab token)', async () => {
    const sha = repo.head();
    const p = { ref: 'refs/heads/main', after: sha, before: '0'.repeat(40), repo: repo.dir };
    const wrong = githubPush('not-the-secret', p);
    await refused('a wrong HMAC', 401, () =>
      postRaw(`${env.server.url}/api/v1/hooks/github?project=refusals`, wrong.body, wrong.headers),
    );
    const unsigned = githubPush(SECRET, p, false);
    await refused('no signature', 401, () =>
      postRaw(
        `${env.server.url}/api/v1/hooks/github?project=refusals`,
        unsigned.body,
        unsigned.headers,
      ),
    );
    const good = githubPush(SECRET, p);
    await refused('a signature of another body', 401, () =>
      postRaw(
        `${env.server.url}/api/v1/hooks/github?project=refusals`,
        good.body.replace(
          sha,
          sha.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        ),
        good.headers,
      ),
    );
    const gl = gitlabPush('wrong-token-xyz', p);
    await refused('a wrong X-Gitlab-Token', 401, () =>
      postRaw(`${env.server.url}/api/v1/hooks/gitlab?project=refusals`, gl.body, gl.headers),
    );
  });

  it('a malformed body: 400', async () => {
    const op = env.api('operator');
    await refused('JSON that does not parse', 400, () =>
      admin.post('/api/v1/projects', '{"name": "broken",'),
    );
    await refused('a project name with a slash', 400, () =>
      admin.post('/api/v1/projects', { name: 'a/b', repo: repo.dir }),
    );
    await refused('a project without a repo', 400, () =>
      admin.post('/api/v1/projects', { name: 'norepo' }),
    );
    await refused('a sha that is not hex', 400, () =>
      op.post('/api/v1/projects/refusals/runs', { sha: 'not-a-sha!' }),
    );
    await refused('a body that is an array', 400, () =>
      op.post('/api/v1/projects/refusals/runs', [1, 2]),
    );
    await refused('a webhook body that is not JSON', 400, () => {
      const body = '{not json';
      const h = githubPush(SECRET, {
        ref: 'refs/heads/main',
        after: repo.head(),
        before: '0'.repeat(40),
        repo: repo.dir,
      });
      const sig = `sha256=${hmac(SECRET, body)}`;
      return postRaw(`${env.server.url}/api/v1/hooks/github?project=refusals`, body, {
        ...h.headers,
        'x-hub-signature-256': sig,
      });
    });
  });

  it('a body with an unknown field: 400 (a typo such as "brnach" must not run the default branch)', async () => {
    await refused('an unknown field in a trigger', 400, () =>
      env.api('operator').post('/api/v1/projects/refusals/runs', { brnach: 'release' }),
    );
    await refused('an unknown field in a project', 400, () =>
      admin.post('/api/v1/projects', { name: 'typo', repo: repo.dir, webhookSecrte: 'abcdefghij' }),
    );
    await refused('an unknown field in a decision', 400, () =>
      env.api('operator').post(`/api/v1/runs/${runId}/stages/Build/approve`, { coment: 'x' }),
    );
  });

  it('an oversized body: 413', async () => {
    const url = env.server.url;
    const json = (token: string): Record<string, string> => ({
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    const big = JSON.stringify({
      name: 'big',
      repo: repo.dir,
      pipeline: 'x'.repeat(2 * 1024 * 1024),
    });
    await refused('a 2 MiB project', 413, () =>
      postLarge(`${url}/api/v1/projects`, big, json(env.tokens.admin)),
    );
    const vars = JSON.stringify({ vars: { X: 'y'.repeat(2 * 1024 * 1024) } });
    await refused('a 2 MiB trigger', 413, () =>
      postLarge(`${url}/api/v1/projects/refusals/runs`, vars, json(env.tokens.operator)),
    );
    const hookBody = JSON.stringify({
      ref: 'refs/heads/main',
      padding: 'z'.repeat(6 * 1024 * 1024),
    });
    // The server answers 413 as soon as it sees the length and closes the connection without a
    // lingering close, so for a body much larger than the socket buffers the client often gets a
    // reset (EPIPE) instead of the answer (reported). Either way it must be refused, changing nothing.
    await settled();
    const before = await state();
    const hook = await postLarge(`${url}/api/v1/hooks/github?project=refusals`, hookBody, {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${hmac(SECRET, hookBody)}`,
    }).catch((e: NodeJS.ErrnoException) => e);
    if (hook instanceof Error)
      assert.ok(
        ['EPIPE', 'ECONNRESET'].includes(hook.code ?? ''),
        `a 6 MiB webhook: ${hook.message}`,
      );
    else assert.equal(hook.status, 413, `a 6 MiB webhook: ${hook.status} ${hook.text}`);
    assert.equal(await state(), before, 'a 6 MiB webhook changed nothing');
  });

  it('an unknown run: 404', async () => {
    const viewer = env.api('viewer');
    const op = env.api('operator');
    await refused('GET a run', 404, () => viewer.get('/api/v1/runs/987654'));
    await refused('its plan', 404, () => viewer.get('/api/v1/runs/987654/plan'));
    await refused('its logs', 404, () => viewer.get('/api/v1/runs/987654/stages/Build/logs'));
    await refused('its events', 404, () => viewer.get('/api/v1/events?run=987654'));
    await refused('cancel it', 404, () => op.post('/api/v1/runs/987654/cancel'));
    await refused('approve in it', 404, () =>
      op.post('/api/v1/runs/987654/stages/Build/approve', {}),
    );
    await refused('a stage the run does not have', 404, () =>
      viewer.get(`/api/v1/runs/${runId}/stages/Nope/logs`),
    );
    await refused('an unknown callback token', 404, () =>
      env.api(null).post('/api/v1/callbacks/abcdefghijklmnopqrstuvwxyz', { status: 'success' }),
    );
    await refused('trigger an unknown project', 404, () =>
      op.post('/api/v1/projects/nope/runs', {}),
    );
  });

  it('an artifact name that escapes its directory: 400', async () => {
    const viewer = env.api('viewer');
    for (const name of [
      '..%2F..%2Fetc%2Fpasswd',
      '..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
      '%2Fetc%2Fpasswd',
      // A bare '..' is resolved away by every URL parser before it is sent (the request becomes
      // /api/v1/runs/ID/), so it cannot reach the route; '%2E%2E%2F..' is the encoded form that can.
      '%2E%2E%2F..',
    ]) {
      const r = await refused(`artifact '${decodeURIComponent(name)}'`, 400, () =>
        viewer.get(`/api/v1/runs/${runId}/artifacts/${name}`),
      );
      assert.ok(!/root:/.test(r.text), 'no file content leaked');
    }
  });

  it('the artifact route serves an artifact the run stored (so the 400s above are not just a missing route)', async () => {
    // `archive 'report.txt'` without name: names the artifact after its stage.
    const list = await env.api('viewer').get(`/api/v1/runs/${runId}/artifacts`);
    assert.equal(list.status, 200, list.text);
    assert.match(list.text, /"name":"Build"/);
    const r = await env.api('viewer').get(`/api/v1/runs/${runId}/artifacts/Build`);
    assert.equal(r.status, 200, r.text);
  });

  it('`otto audit verify` passes after all of this, and fails after one audit row is changed in SQLite', async () => {
    const ok = await env.ottoResult(['audit', 'verify', '--data', env.dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit log intact: \d+ records?/);
    const exported = (await env.otto(['audit', 'export', '--data', env.dataDir]))
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string });
    for (const action of [
      'token.created',
      'project.created',
      'agent.registered',
      'run.triggered',
    ]) {
      assert.ok(
        exported.some((r) => r.action === action),
        `the audit log holds ${action}`,
      );
    }

    const db = new Database(join(env.dataDir, 'otto.db'));
    try {
      const row = db
        .prepare("SELECT id, actor FROM audit WHERE action = 'run.triggered' ORDER BY id LIMIT 1")
        .get() as { id: number; actor: string };
      assert.ok(row);
      const changed = db
        .prepare('UPDATE audit SET actor = ? WHERE id = ?')
        .run('someone-else', row.id);
      assert.equal(changed.changes, 1);
    } finally {
      db.close();
    }
    const bad = await env.ottoResult(['audit', 'verify', '--data', env.dataDir]);
    assert.notEqual(bad.code, 0, `verify must fail after tampering: ${bad.stdout}`);
    assert.match(bad.stderr, /NOT intact/);
  });
});

function hmac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
