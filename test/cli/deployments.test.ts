// Environments and deployments: a stage with `environment -> NAME` gets the environment's settings
// as env vars (no other stage does) and records a deployment when it ends; `otto deployments`
// shows what is deployed where now (the newest deployment per environment that did not fail) and
// the history, with run, stage and status.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOtto } from '../helpers.js';
import { project, type Finished } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

interface Deployment {
  readonly id: number;
  readonly environment: string;
  readonly run: string;
  readonly stage: string;
  readonly sha: string;
  readonly branch: string;
  readonly status: string;
  readonly at: string;
}

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('environments and deployments', () => {
  const p = project({ after }, '');
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  const failFlag = join(p.scratch, 'fail-production');
  p.write(
    'Ottofile',
    `environments {
  staging { settings { URL = 'https://staging.example' } }
  production {
    settings {
      URL = 'https://app.example'
      REGION = 'eu-west'
    }
  }
}
pipeline {
  stage('Build') { steps { sh 'echo "Build URL=[\${URL-unset}] REGION=[\${REGION-unset}]"' } }
  stage('Staging') {
    environment -> staging
    steps { sh 'echo "Staging URL=[$URL] REGION=[\${REGION-unset}]"' }
  }
  stage('Production') {
    environment -> production
    steps { sh 'echo "Production URL=[$URL] REGION=[$REGION]"; test ! -f ${failFlag}' }
  }
  stage('After') { steps { sh 'echo "After URL=[\${URL-unset}]"' } }
}
`,
  );
  let first: Finished;
  let second: Finished;
  let all: { current: Deployment[]; history: Deployment[] };

  const deployments = async (
    ...args: string[]
  ): Promise<{ current: Deployment[]; history: Deployment[] }> => {
    const r = await p.start(['deployments', '--json', ...args]).done;
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { current: Deployment[]; history: Deployment[] };
  };

  before(async () => {
    first = await p.start(['run', '--branch', 'main', '--sha', SHA], SLOW).done;
    writeFileSync(failFlag, '');
    second = await p.start(['run', '--branch', 'main', '--sha', SHA], SLOW).done;
    all = await deployments();
  });

  it("an environment's settings are env vars in the stage deploying to it, and in no other stage", () => {
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /Build URL=\[unset\] REGION=\[unset\]/);
    assert.match(first.stdout, /Staging URL=\[https:\/\/staging\.example\] REGION=\[unset\]/);
    assert.match(first.stdout, /Production URL=\[https:\/\/app\.example\] REGION=\[eu-west\]/);
    assert.match(first.stdout, /After URL=\[unset\]/);
  });

  it('each deploying stage records a deployment with run, stage, status, branch and sha', () => {
    assert.equal(second.code, 1, 'the second run fails in Production');
    const history = all.history.map((d) => `${d.run} ${d.environment} ${d.stage} ${d.status}`);
    assert.deepEqual(
      history,
      [
        '2 production Production failed',
        '2 staging Staging succeeded',
        '1 production Production succeeded',
        '1 staging Staging succeeded',
      ],
      'newest first',
    );
    for (const d of all.history) {
      assert.equal(d.sha, SHA);
      assert.equal(d.branch, 'main');
      assert.ok(!Number.isNaN(Date.parse(d.at)), d.at);
    }
  });

  it('current: the newest deployment per environment that did not fail; a failed one is only in history', () => {
    const current = Object.fromEntries(
      all.current.map((d) => [d.environment, `${d.run} ${d.stage} ${d.status}`]),
    );
    assert.deepEqual(current, {
      staging: '2 Staging succeeded',
      production: '1 Production succeeded',
    });
  });

  it('--environment shows one environment', async () => {
    const prod = await deployments('--environment', 'production');
    assert.deepEqual(
      prod.history.map((d) => `${d.run} ${d.status}`),
      ['2 failed', '1 succeeded'],
    );
    assert.deepEqual(
      prod.current.map((d) => `${d.environment} ${d.run}`),
      ['production 1'],
    );
  });

  it('--limit shortens the history, not what is deployed now', async () => {
    const one = await deployments('--limit', '1');
    assert.equal(one.history.length, 1);
    const current = Object.fromEntries(one.current.map((d) => [d.environment, d.run]));
    assert.deepEqual(current, { staging: '2', production: '1' });
  });

  it('the text view lists what is deployed now and the history', async () => {
    const r = await p.start(['deployments']).done;
    assert.equal(r.code, 0, r.stderr);
    const [now, history] = r.stdout.split('history:');
    assert.match(now ?? '', /deployed now:\n(?:.*\n)*\s+production\s+run 1\s/);
    assert.match(now ?? '', /\s+staging\s+run 2\s/);
    assert.match(history ?? '', /production\s+failed\s+run 2 stage 'Production'/);
  });

  it("another project sharing the same OTTO_HOME does not see this project's deployments", () => {
    const other = join(p.scratch, 'other-project');
    mkdirSync(other);
    const home = join(p.dir, '.otto');
    const r = runOtto(['deployments'], { cwd: other, env: { ...p.env, OTTO_HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'no deployments yet\n');
    const mine = runOtto(['deployments'], { cwd: p.dir, env: { ...p.env, OTTO_HOME: home } });
    assert.match(mine.stdout, /deployed now:/);
  });
});
