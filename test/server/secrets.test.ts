// Secrets through `otto serve`: an admin sets a project secret over the API (write-only), a stage
// that declares it gets the value on a real agent with every copy masked in the log, an
// environment's secret wins in the stage deploying there, and a removed secret fails the stage
// that needs it with a message that names it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Api, deferred, Env, stageOf } from './server-helpers.js';

const VALUE = 'hunter2-the-project-value';
const PROD_VALUE = 'prod-only-value-42';

describe('secrets over the API', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;
  let admin: Api;
  let operator: Api;

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30 });
    await env.startAgent('secrets-agent');
    admin = env.api('admin');
    operator = env.api('operator');
    const repo = env.repo('vault', {
      Ottofile: `environments {
  production { credentials = ['API_KEY'] }
}
pipeline {
  stage('Use') {
    credentials = ['API_KEY']
    steps { sh 'echo "key=$API_KEY"; printf "%s" "$API_KEY" | wc -c' }
  }
  stage('Ship') {
    environment -> production
    steps { sh 'echo "prod key=$API_KEY"' }
  }
}
`,
    });
    await env.project('vault', repo);
  });

  it('set: 204, listed by name only; a stage gets the value and the log shows it masked', async () => {
    assert.equal((await admin.request('PUT', '/api/v1/projects/vault/secrets/API_KEY', { value: VALUE })).status, 204);
    const prod = await admin.request('PUT', '/api/v1/projects/vault/secrets/API_KEY', { value: PROD_VALUE, environment: 'production' });
    assert.equal(prod.status, 204, prod.text);
    const list = await admin.get('/api/v1/projects/vault/secrets');
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(VALUE) && !list.text.includes(PROD_VALUE), list.text);
    const names = (list.json as { secrets: Array<{ name: string; environment: string | null }> }).secrets;
    assert.deepEqual(names.map((s) => [s.name, s.environment]).sort(), [['API_KEY', null], ['API_KEY', 'production']]);

    const created = await operator.trigger('vault');
    const run = await operator.waitRun(created.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const use = await operator.logs(created.id, 'Use');
    assert.match(use, /key=\*\*\*/);
    assert.match(use, new RegExp(`^\\s*${VALUE.length}$`, 'm'), 'the step had the whole value');
    assert.ok(!use.includes(VALUE), use);
    const ship = await operator.logs(created.id, 'Ship');
    assert.match(ship, /prod key=\*\*\*/);
    assert.ok(!ship.includes(PROD_VALUE), ship);
  });

  it('remove: 204, then 404 for the same secret; a stage that needs it fails and says which', async () => {
    const gone = await admin.request('DELETE', '/api/v1/projects/vault/secrets/API_KEY');
    assert.equal(gone.status, 204, gone.text);
    const again = await admin.request('DELETE', '/api/v1/projects/vault/secrets/API_KEY');
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { error: { code: 'not_found', message: "project 'vault' has no secret API_KEY" } });
    assert.equal((await operator.request('DELETE', '/api/v1/projects/vault/secrets/API_KEY', undefined)).status, 403);

    const created = await operator.trigger('vault');
    const run = await operator.waitRun(created.id);
    assert.equal(run.status, 'failed');
    assert.equal(stageOf(run, 'Use').status, 'failed');
    assert.match(stageOf(run, 'Use').message ?? '', /API_KEY/);
    const audit = await admin.get('/api/v1/audit');
    assert.match(audit.text, /"action":"secret.removed"/);
  });
});
