// Deployments through `otto serve`: stages with `environment -> NAME` run on a real agent record
// deployments; GET /api/v1/deployments says what is deployed where now (the newest deployment per
// project and environment that did not fail, even when it is beyond the listed page), and
// /api/v1/environments/NAME/metrics gives the DORA figures from them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Api, deferred, Env, type GitRepo } from './server-helpers.js';

interface Deployment {
  readonly project: string;
  readonly environment: string;
  readonly run: string;
  readonly stage: string;
  readonly status: string;
  readonly sha: string;
}

interface Deployments {
  readonly current: Deployment[];
  readonly history: Deployment[];
}

const ottofile = (fail: boolean): string => `environments {
  staging { settings { URL = 'https://staging.example' } }
}
pipeline {
  stage('Staging') {
    environment -> staging
    steps { sh 'echo "deploying to $URL"; ${fail ? 'exit 1' : 'true'}' }
  }
}
`;

describe('deployments over the API', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;
  let operator: Api;
  let viewer: Api;
  let repo: GitRepo;
  const runs: string[] = [];

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30 });
    await env.startAgent('deploy-agent');
    operator = env.api('operator');
    viewer = env.api('viewer');
    repo = env.repo('shop', { Ottofile: ottofile(false) });
    await env.project('shop', repo);
    // succeeded, then failed: what is deployed now is the first.
    for (const fail of [false, true]) {
      if (fail) repo.commit({ Ottofile: ottofile(true) }, 'a deployment that fails');
      const created = await operator.trigger('shop');
      runs.push(created.id);
      await viewer.waitRun(created.id);
    }
  });

  it('GET /api/v1/deployments: current is the newest that did not fail, even beyond the page', async () => {
    const r = await viewer.get('/api/v1/deployments?limit=1');
    assert.equal(r.status, 200, r.text);
    const d = r.json as Deployments;
    assert.deepEqual(
      d.history.map((x) => [x.run, x.status]),
      [[runs[1], 'failed']],
    );
    assert.deepEqual(
      d.current.map((x) => [x.project, x.environment, x.run, x.stage, x.status]),
      [['shop', 'staging', runs[0], 'Staging', 'succeeded']],
    );
    const none = await viewer.get('/api/v1/deployments?project=elsewhere');
    assert.deepEqual(none.json, { current: [], history: [] });
  });

  it('GET /api/v1/environments/staging/metrics: two deployments, one failed', async () => {
    const r = await viewer.get('/api/v1/environments/staging/metrics?days=7');
    assert.equal(r.status, 200, r.text);
    const m = r.json as Record<string, unknown>;
    assert.equal(m.environment, 'staging');
    assert.equal(m.deployments, 2);
    assert.equal(m.changeFailureRate, 0.5);
    assert.equal(m.timeToRestoreMs, null, 'nothing restored it yet');
    assert.equal(typeof m.leadTimeMs, 'number');
  });
});
