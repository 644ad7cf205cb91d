// Webhook and poll gates in `otto run`, against real sockets: a callback POSTed to the loopback URL
// the run prints (single use: 409 the second time, 404 for a token nobody issued), `otto callback`
// from another process, and a poll of a loopback server that answers 503 twice before 200 'ok',
// or never answers as expected and times out naming its last answer.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { project, waitFor, type Project, type RunJson } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

function keyed(p: Project): Project {
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  return p;
}

async function runsJson(p: Project): Promise<RunJson[]> {
  const r = await p.start(['runs', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RunJson[];
}

async function stageOf(p: Project, path: string): Promise<RunJson['stages'][number]> {
  const s = (await runsJson(p))[0]?.stages.find((x) => x.path === path);
  assert.ok(s, `the newest run has stage ${path}`);
  return s;
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A loopback HTTP server answering with `answer(n)` for the n-th request (from 1). */
async function serve(
  t: { after: (fn: () => void | Promise<void>) => void },
  answer: (n: number, req: IncomingMessage) => { status: number; body: string },
): Promise<{ url: string; hits: () => number }> {
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const a = answer(++n, req);
    res.writeHead(a.status, { 'content-type': 'text/plain' });
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/health`, hits: () => n };
}

const CALLBACK = /(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/callbacks\/([A-Za-z0-9_-]+))/;

const WEBHOOK = `pipeline {
  stage('Smoke') {
    gates { enter { webhook { description = 'the smoke test' timeout = '45s' } } }
    steps { sh 'sleep 1; echo after-the-callback' }
  }
}
`;

function allFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) allFiles(p, out);
    else if (st.isFile()) out.push(p);
  }
  return out;
}

describe('webhook and poll gates', { concurrency: 4 }, () => {
  it('a webhook gate completes with a POST to the printed loopback URL; the token works once, an unknown one is 404', async (t) => {
    const p = keyed(project(t, WEBHOOK));
    const run = p.start(['run'], SLOW);
    const m = await waitFor('the callback URL', () => CALLBACK.exec(run.stderr()), 30_000);
    const [, url, token] = m as unknown as [string, string, string];
    assert.match(run.stderr(), /waits for the smoke test/);
    assert.equal((await stageOf(p, 'Smoke')).status, 'waiting');

    const unknown = await post(url.replace(token, 'NotAToken-1234567890abcdefghijkl'), {
      status: 'success',
    });
    assert.equal(unknown.status, 404);
    const bad = await post(url, { status: 'maybe' });
    assert.equal(
      bad.status,
      400,
      'a body without success|failure is refused and does not spend the token',
    );

    const first = await post(url, { status: 'success', message: 'all green' });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.decision, 'passed');
    assert.equal(first.json.stage, 'Smoke');
    const second = await post(url, { status: 'success' });
    assert.equal(second.status, 409, JSON.stringify(second.json));
    assert.equal((second.json.error as { code: string }).code, 'token_used');

    const again = await p.start(['callback', token, 'failure']).done;
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already been used/);

    const done = await run.done;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /after-the-callback/);
    assert.equal((await stageOf(p, 'Smoke')).status, 'succeeded');
    // Only the token's hash is kept.
    for (const f of allFiles(p.home))
      assert.ok(!readFileSync(f).includes(Buffer.from(token)), `${f} holds the callback token`);
  });

  it('otto callback TOKEN failure -m msg fails the stage with the message; an unknown token is refused', async (t) => {
    const p = keyed(project(t, WEBHOOK));
    const run = p.start(['run'], SLOW);
    const token = (
      await waitFor(
        'the callback token',
        () => /otto callback ([A-Za-z0-9_-]+) success/.exec(run.stderr()),
        30_000,
      )
    )[1] as string;

    const unknown = await p.start(['callback', 'no-such-token-abcdefghijklmnop', 'success']).done;
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no gate waits for this callback token/);
    const wrong = await p.start(['callback', token, 'maybe']).done;
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /success or failure/);

    const c = await p.start(['callback', token, 'failure', '-m', 'the smoke test is red']).done;
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /stage 'Smoke': gate failed/);
    const done = await run.done;
    assert.equal(done.code, 1, done.stdout + done.stderr);
    assert.doesNotMatch(done.stdout, /after-the-callback/);
    const s = await stageOf(p, 'Smoke');
    assert.equal(s.status, 'failed');
    assert.match(s.message, /the smoke test is red/);
  });

  it('otto approve decides a webhook gate only with --override, and the run records who overrode it', async (t) => {
    const p = keyed(project(t, WEBHOOK));
    const run = p.start(['run'], SLOW);
    await waitFor('the callback URL', () => CALLBACK.exec(run.stderr()), 30_000);
    const id = (await runsJson(p))[0]?.id as string;

    const plain = await p.start(['approve', id, 'Smoke']).done;
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /stage 'Smoke' waits for a callback \(the smoke test\), not for a person/);
    assert.match(plain.stderr, new RegExp(`otto approve ${id} 'Smoke' --override`));
    assert.equal((await stageOf(p, 'Smoke')).status, 'waiting', 'nothing changed');

    const forced = await p.start(['approve', id, 'Smoke', '--override', '-m', 'the checker is down']).done;
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /approved: run \d+, stage 'Smoke' \(a callback \(the smoke test\)\) — the checker is down/);
    const done = await run.done;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /after-the-callback/);
    const decided = (await p.store().readEvents(id)).filter((e) => e.type === 'gate.decided');
    assert.equal(decided.length, 1);
    assert.match(JSON.stringify(decided[0]), /"actor":"[^"]+ \(override\)".*"comment":"the checker is down"/);
  });

  it("a poll gate passes once the server answers 200 with 'ok' (after two 503s)", async (t) => {
    const server = await serve(t, (n) =>
      n <= 2 ? { status: 503, body: 'starting' } : { status: 200, body: 'status: ok' },
    );
    const p = keyed(
      project(
        t,
        `pipeline {
  stage('Live') {
    gates { exit { poll { url = '${server.url}' expect = 200 contains = 'ok' interval = '300ms' timeout = '45s' } } }
    steps { sh 'echo deployed' }
  }
  stage('After') { steps { sh 'echo after-the-poll' } }
}
`,
      ),
    );
    const r = await p.start(['run'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(server.hits(), 3, 'two 503s, then the 200');
    assert.match(r.stdout, /after-the-poll/);
    assert.equal((await stageOf(p, 'Live')).status, 'succeeded');
  });

  for (const [what, answer, last] of [
    ['a 500', { status: 500, body: 'ok' }, /last: HTTP 500/],
    ["200 without 'ok'", { status: 200, body: 'still starting' }, /last: HTTP 200 without "ok"/],
  ] as const) {
    it(`a poll gate that keeps getting ${what} times out, naming the last answer`, async (t) => {
      const server = await serve(t, () => answer);
      const p = keyed(
        project(
          t,
          `pipeline {
  stage('Live') {
    gates { enter { poll { url = '${server.url}' contains = 'ok' interval = '300ms' timeout = '2s' } } }
    steps { sh 'echo never' }
  }
}
`,
        ),
      );
      const started = Date.now();
      const r = await p.start(['run'], SLOW).done;
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /never/);
      assert.ok(server.hits() >= 2, `polled ${server.hits()} times`);
      const s = await stageOf(p, 'Live');
      assert.equal(s.status, 'timed_out');
      assert.match(s.message, last);
      assert.ok(s.message.includes(server.url), s.message);
      assert.ok(Date.now() - started < 45_000);
    });
  }
});
