// `retry` and `allowFailure` as a user sees them: attempts, their logs, unstable stages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lines, project } from './run-helpers.js';

/** Fails until it has been called `n` times (its count lives outside the workspace). */
function flaky(count: string, n: number): string {
  return `c=$(cat ${count} 2>/dev/null || echo 0); c=$((c+1)); echo $c > ${count}; echo "try $c of attempt $OTTO_ATTEMPT"; test ! -e leftover; touch leftover; [ $c -ge ${n} ] || exit 1`;
}

test('otto run: retry = 2 with a step failing twice succeeds on attempt 3, and every attempt keeps its logs', async (t) => {
  const p = project(t, '');
  const count = join(p.scratch, 'count');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Flaky') {
    retry = 2
    steps { sh '${flaky(count, 3)}' }
  }
  stage('Next') { steps { sh 'echo next' } }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(count), ['3']);
  const run = p.run('1');
  assert.equal(run.status, 'succeeded');
  const flakyStage = run.stages.find((s) => s.path === 'Flaky');
  assert.equal(flakyStage?.status, 'succeeded');
  assert.equal(flakyStage?.attempt, 3);
  assert.equal(run.stages.find((s) => s.path === 'Next')?.status, 'succeeded');
  for (const attempt of [1, 2, 3]) {
    const logs = p.otto(['logs', '1', 'Flaky', '--attempt', String(attempt)]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.ok(
      logs.stdout.includes(`try ${attempt} of attempt ${attempt}\n`),
      `attempt ${attempt}'s log: ${logs.stdout}`,
    );
    // Each attempt starts from a fresh workspace: the file the last one left is gone.
    assert.ok(
      !logs.stdout.includes(`try ${attempt + 1}`),
      `attempt ${attempt}'s log holds another attempt's output`,
    );
  }
  const all = p.otto(['logs', '1']);
  assert.match(all.stdout, /\[Flaky\] --- attempt 2 ---\n/);
  assert.match(all.stdout, /\[Flaky\] --- attempt 3 ---\n/);
  assert.ok(
    all.stdout.indexOf('try 1 of') < all.stdout.indexOf('try 2 of') &&
      all.stdout.indexOf('try 2 of') < all.stdout.indexOf('try 3 of'),
    'attempts in order',
  );
});

test('otto run: a stage that fails on every attempt fails after 1 + retry attempts', async (t) => {
  const p = project(t, '');
  const count = join(p.scratch, 'count');
  p.write(
    'Ottofile',
    `pipeline {\n  stage('Broken') {\n    retry = 1\n    steps { sh '${flaky(count, 99)}' }\n  }\n}\n`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(count), ['2']);
  const stage = p.run('1').stages[0];
  assert.equal(stage?.status, 'failed');
  assert.equal(stage?.attempt, 2);
  assert.equal(stage?.exitCode, 1);
});

test('otto run: allowFailure makes a failing stage unstable; the run succeeds and the next stage runs', async (t) => {
  const p = project(t, '');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Lint') {
    allowFailure = true
    steps { sh 'echo lint problems; exit 4' }
  }
  stage('Ship') { steps { sh 'touch ${p.scratch}/shipped' } }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(p.scratch, 'shipped')), 'the stage after the unstable one ran');
  const run = p.run('1');
  assert.equal(run.status, 'succeeded');
  const lint = run.stages.find((s) => s.path === 'Lint');
  assert.equal(lint?.status, 'unstable');
  assert.equal(lint?.exitCode, 4);
  assert.match(lint?.message ?? '', /exit status 4/);
  assert.equal(run.stages.find((s) => s.path === 'Ship')?.status, 'succeeded');
  assert.match(r.stderr, /unstable/);
});
