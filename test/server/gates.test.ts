// Gates and cancellation through `otto serve` with a real agent: an input gate approved over the
// API by an operator (a viewer's 403 changes nothing), a webhook gate completed through
// $OTTO_CALLBACK_URL (the token works once: 409 the second time), and a cancel that reaches the
// step's process on the agent as SIGTERM.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { type Api, deferred, Env, pidGone, readSse, stageOf, waitFor } from './server-helpers.js';

describe('gates and cancel over the API', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;
  let operator: Api;
  let viewer: Api;
  let admin: Api;

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30 });
    await env.startAgent('gate-agent');
    operator = env.api('operator');
    viewer = env.api('viewer');
    admin = env.api('admin');
  });

  it('an operator approves an input gate; the run records who; a viewer gets 403 and nothing changes', async () => {
    const repo = env.repo('approve', {
      Ottofile: `pipeline {
  stage('Approve') {
    gates { enter { input 'Ship it?', timeout: '60s' } }
    steps { sh 'echo "after the approval"' }
  }
}
`,
    });
    await env.project('approve', repo);
    const created = await operator.trigger('approve');
    const waiting = await viewer.waitRun(
      created.id,
      (r) => r.status === 'waiting' && (r.gates ?? []).some((g) => g.waiting === true),
      15_000,
    );
    assert.equal(stageOf(waiting, 'Approve').status, 'waiting');
    const auditBefore = (await admin.get('/api/v1/audit?limit=1000')).json.records.length as number;

    const refused = await viewer.post(`/api/v1/runs/${created.id}/stages/Approve/approve`, {
      comment: 'viewer says yes',
    });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json?.error?.code, 'forbidden');
    const still = await viewer.run(created.id);
    assert.equal(still.status, 'waiting');
    assert.deepEqual(still.gates, waiting.gates, 'the gate is untouched');
    assert.equal(
      (await admin.get('/api/v1/audit?limit=1000')).json.records.length,
      auditBefore,
      'nothing audited',
    );

    const ok = await operator.post(`/api/v1/runs/${created.id}/stages/Approve/approve`, {
      comment: 'ship it',
    });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(ok.json.actor, 'operator');
    const done = await viewer.waitRun(created.id);
    assert.equal(done.status, 'succeeded');
    const decided = (done.gates ?? []).filter((g) => g.decision !== undefined);
    assert.deepEqual(
      decided.map((g) => ({
        stage: g.stage,
        decision: g.decision,
        actor: g.actor,
        comment: g.comment,
      })),
      [{ stage: 'Approve', decision: 'approved', actor: 'operator', comment: 'ship it' }],
    );
    assert.match(await viewer.logs(created.id, 'Approve'), /after the approval/);
    const audit = (await admin.get('/api/v1/audit?limit=1000')).json.records as Array<{
      actor: string;
      action: string;
      target: string;
    }>;
    assert.ok(
      audit.some(
        (r) =>
          r.actor === 'operator' &&
          r.action === 'gate.approved' &&
          r.target === `run:${created.id}/Approve`,
      ),
      'the approval is in the audit log',
    );

    // Deciding again: the gate is no longer open.
    const again = await operator.post(`/api/v1/runs/${created.id}/stages/Approve/approve`, {});
    assert.equal(again.status, 409, again.text);
  });

  it('a webhook exit gate completes by its callback URL; the same token again is 409 and changes nothing', async () => {
    const urlFile = env.scratch('callback-url');
    const repo = env.repo('callback', {
      Ottofile: `pipeline {
  stage('Deploy') {
    gates { exit { webhook { description = 'the smoke test' timeout = '60s' } } }
    steps { sh 'printf "%s" "$OTTO_CALLBACK_URL" > ${urlFile}; echo deployed' }
  }
}
`,
    });
    await env.project('callback', repo);
    const created = await operator.trigger('callback');
    await viewer.waitRun(
      created.id,
      (r) =>
        r.status === 'waiting' &&
        (r.gates ?? []).some((g) => g.waiting === true && g.kind === 'webhook'),
      15_000,
    );
    const url = readFileSync(urlFile, 'utf8');
    assert.match(
      url,
      /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/callbacks\/[A-Za-z0-9_-]+$/,
      `the step saw a callback URL: '${url}'`,
    );
    assert.ok(url.startsWith(env.server.url), 'the callback URL points at this server');
    // The URL carries a credential: it is masked in the stage's log.
    assert.ok(
      !(await viewer.logs(created.id, 'Deploy')).includes(url.split('/').pop()!),
      'the callback token is masked in the log',
    );

    // A malformed body is refused and does not use the token up.
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'maybe' }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await viewer.run(created.id)).status, 'waiting');

    const first = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'success', message: 'smoke ok' }),
    });
    assert.equal(first.status, 200, await first.text());
    const done = await viewer.waitRun(created.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const eventsBefore = await viewer.events(created.id);

    const second = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'failure' }),
    });
    assert.equal(second.status, 409, await second.text());
    const json = (await second.json().catch(() => undefined)) as
      { error?: { code?: string } } | undefined;
    if (json) assert.equal(json.error?.code, 'token_used');
    const after = await viewer.run(created.id);
    assert.equal(after.status, 'succeeded');
    assert.equal(stageOf(after, 'Deploy').status, 'succeeded');
    const eventsAfter = await viewer.events(created.id);
    assert.equal(
      eventsAfter.length,
      eventsBefore.length,
      'no event was appended by the second callback',
    );
    assert.equal(eventsAfter.filter((e) => e.event === 'gate.decided').length, 1);
  });

  it('an operator decides webhook and poll gates only with "override": true; audited as overrides; no token hash reaches viewers', async () => {
    const repo = env.repo('override', {
      Ottofile: `pipeline {
  stage('Release') {
    gates {
      enter {
        webhook { description = 'the change board' timeout = '60s' }
        poll { url = 'http://127.0.0.1:9/never' expect = 200 interval = '1s' timeout = '60s' }
      }
    }
    steps { sh 'echo released' }
  }
}
`,
    });
    await env.project('override', repo);
    const created = await operator.trigger('override');
    const path = `/api/v1/runs/${created.id}/stages/Release/approve`;
    const waitingAt = (kind: string) =>
      viewer.waitRun(created.id, (r) => (r.gates ?? []).some((g) => g.waiting === true && g.kind === kind), 15_000);

    await waitingAt('webhook');
    const plain = await operator.post(path, { comment: 'go' });
    assert.equal(plain.status, 409, plain.text);
    assert.equal(
      (plain.json as { error: { message: string } }).error.message,
      `stage 'Release' waits for a callback (the change board), not for a person; send {"override": true} to decide it in its place`,
    );
    assert.equal((await viewer.run(created.id)).status, 'waiting');
    assert.equal((await viewer.post(path, { override: true })).status, 403, 'a viewer cannot');
    const first = await operator.post(path, { override: true, comment: 'the board met' });
    assert.equal(first.status, 202, first.text);

    await waitingAt('poll');
    const again = await operator.post(path, {});
    assert.equal(again.status, 409);
    assert.match((again.json as { error: { message: string } }).error.message, /waits for http:\/\/127\.0\.0\.1:9\/never to answer 200, not for a person/);
    const forced = await operator.post(path, { override: true, comment: 'the checker is down' });
    assert.equal(forced.status, 202, forced.text);
    assert.deepEqual(forced.json, { id: created.id, stage: 'Release', decision: 'approved', actor: 'operator (override)' });

    const done = await viewer.waitRun(created.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.match(await viewer.logs(created.id, 'Release'), /released/);
    const audit = await admin.get('/api/v1/audit');
    assert.equal((audit.text.match(/"action":"gate\.overridden\.approved"/g) ?? []).length, 2, audit.text);
    const events = await viewer.events(created.id);
    assert.ok(events.some((e) => e.event === 'gate.opened'));
    assert.ok(!JSON.stringify(events).includes('tokenHash'), 'the callback token hash stays on the server');
  });

  it('cancel over the API reaches the step on the agent as SIGTERM (the trap writes its marker)', async () => {
    const marker = env.scratch('term-marker');
    const pids = env.pidFile('cancel');
    const repo = env.repo('cancel', {
      Ottofile: `pipeline {
  stage('Long') {
    steps { sh 'trap "echo got-TERM > ${marker}; exit 143" TERM; echo $$ >> ${pids}; echo started; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done' }
  }
  stage('Never') { steps { sh 'echo never' } }
}
`,
    });
    await env.project('cancel', repo);
    const created = await operator.trigger('cancel');
    await waitFor(
      'the step to start',
      async () => /started/.test(await viewer.logs(created.id, 'Long')),
      15_000,
      100,
    );
    const pid = Number(readFileSync(pids, 'utf8').trim().split(/\s+/)[0]);

    const viewerCancel = await viewer.post(`/api/v1/runs/${created.id}/cancel`);
    assert.equal(viewerCancel.status, 403, 'a viewer cannot cancel');
    assert.equal((await viewer.run(created.id)).status, 'running');

    const r = await operator.post(`/api/v1/runs/${created.id}/cancel`);
    assert.equal(r.status, 202, r.text);
    const done = await viewer.waitRun(created.id, undefined, 20_000);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal(stageOf(done, 'Never').status === 'running', false);
    await waitFor('the TERM marker', () => existsSync(marker), 5000);
    assert.equal(readFileSync(marker, 'utf8').trim(), 'got-TERM');
    await waitFor(`step process ${pid} to be gone`, () => pidGone(pid), 10_000);
    const events = await readSse(viewer, created.id, { timeoutMs: 3000, idleMs: 1000 });
    assert.ok(
      events.some((e) => e.event === 'run.cancel-requested' && e.data.data.actor === 'operator'),
      'the cancel is recorded with who',
    );

    const again = await operator.post(`/api/v1/runs/${created.id}/cancel`);
    assert.equal(again.status, 409, 'an ended run cannot be cancelled again');
  });
});
