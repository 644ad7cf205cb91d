// Notifications from `otto run` to a real loopback receiver: `http` posts a JSON body naming the
// run, stage and status (with a bearer token from a secret when configured); `slack` posts
// {text, channel} to the configured URL; a notification that cannot be delivered is a warning and
// never changes the stage's status or the run's exit code.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { project, type Project, type RunJson } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A loopback receiver recording every request; answers `status` (200 by default). */
async function receiver(
  t: { after: (fn: () => void | Promise<void>) => void },
  status = 200,
): Promise<{ base: string; got: Received[] }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(status);
      res.end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function keyed(p: Project): Project {
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  return p;
}

async function newestRun(p: Project): Promise<RunJson> {
  const r = await p.start(['runs', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  const run = (JSON.parse(r.stdout) as RunJson[])[0];
  assert.ok(run);
  return run;
}

describe('notifications', { concurrency: 4 }, () => {
  it('http: a JSON body naming the run, stage and status reaches the receiver, on success and on failure', async (t) => {
    const rx = await receiver(t);
    const p = keyed(
      project(
        t,
        `configure { http { credential = 'HOOK_TOKEN' } }
pipeline {
  stage('Ship') {
    steps { sh 'echo shipping' }
    notify {
      success { http '${rx.base}/ok' }
      failure { http '${rx.base}/wrong-outcome' }
      complete { http '${rx.base}/done', method: 'PUT' }
    }
  }
  stage('Break') {
    steps { sh 'exit 3' }
    notify { failure { http '${rx.base}/failed' } }
  }
}
`,
      ),
    );
    p.env.HOOK_TOKEN = 'hook-bearer-token-9876';
    const r = await p.start(['run', '--secret', 'HOOK_TOKEN'], SLOW).done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const run = await newestRun(p);
    const byPath = new Map(rx.got.map((g) => [g.path, g]));
    assert.deepEqual(
      [...byPath.keys()].sort(),
      ['/done', '/failed', '/ok'],
      'success and complete for Ship, failure for Break',
    );

    const ok = byPath.get('/ok') as Received;
    assert.equal(ok.method, 'POST');
    assert.match(String(ok.headers['content-type']), /application\/json/);
    assert.equal(ok.headers.authorization, 'Bearer hook-bearer-token-9876');
    const okBody = JSON.parse(ok.body) as Record<string, unknown>;
    assert.equal(okBody.run, run.id);
    assert.equal(okBody.stage, 'Ship');
    assert.equal(okBody.status, 'succeeded');
    assert.equal((byPath.get('/done') as Received).method, 'PUT');

    const failed = JSON.parse((byPath.get('/failed') as Received).body) as Record<string, unknown>;
    assert.equal(failed.run, run.id);
    assert.equal(failed.stage, 'Break');
    assert.equal(failed.status, 'failed');
    assert.doesNotMatch(r.stderr, /warning: .*notification/);
  });

  it('http to a closed port: a warning, and the stage still succeeds (exit 0)', async (t) => {
    const port = await closedPort();
    const p = keyed(
      project(
        t,
        `pipeline {
  stage('Ship') {
    steps { sh 'echo shipping' }
    notify { success { http 'http://127.0.0.1:${port}/hook' } }
  }
}
`,
      ),
    );
    const r = await p.start(['run'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /warning: http notification for 'Ship' failed/);
    const run = await newestRun(p);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.stages[0]?.status, 'succeeded');
  });

  it('http answered with 500: a warning naming the status, and the stage still succeeds', async (t) => {
    const rx = await receiver(t, 500);
    const p = keyed(
      project(
        t,
        `pipeline {
  stage('Ship') {
    steps { sh 'echo shipping' }
    notify { complete { http '${rx.base}/hook' } }
  }
}
`,
      ),
    );
    const r = await p.start(['run'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(rx.got.length, 1);
    assert.match(r.stderr, /warning: http notification for 'Ship' failed: HTTP 500/);
    assert.equal((await newestRun(p)).stages[0]?.status, 'succeeded');
  });

  it("slack with configure { slack { url, channel } } posts {text, channel}; a step's channel overrides it", async (t) => {
    const rx = await receiver(t);
    const p = keyed(
      project(
        t,
        `configure {
  slack {
    url = '${rx.base}/hook'
    channel = '#x'
  }
}
pipeline {
  stage('Ship') {
    steps { sh 'echo shipping' }
    notify {
      success { slack 'Shipped it' }
      complete { slack 'Done with it', channel: '#ops' }
    }
  }
}
`,
      ),
    );
    const r = await p.start(['run'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.ok(rx.got.every((g) => g.path === '/hook' && g.method === 'POST'));
    const bodies = rx.got
      .map((g) => JSON.parse(g.body) as Record<string, unknown>)
      .sort((a, b) => String(a.text).localeCompare(String(b.text)));
    assert.deepEqual(bodies, [
      { text: 'Done with it', channel: '#ops' },
      { text: 'Shipped it', channel: '#x' },
    ]);
  });
});
