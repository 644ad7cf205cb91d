// Workspace retention: `otto run` keeps the copies of the project (`.otto/runs/N/`) of the newest
// finished runs only (OTTO_KEEP_WORKSPACES, 3 by default), leaves alone what it does not know, says
// clearly when a rerun needs a workspace that is gone, and refuses a setting that is not a number.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { project } from './run-helpers.js';

const runDirs = (home: string): string[] =>
  existsSync(join(home, 'runs'))
    ? readdirSync(join(home, 'runs')).sort((a, b) => Number(a) - Number(b))
    : [];

test('only the newest finished runs keep their workspaces; unknown directories stay', { timeout: 60_000 }, (t) => {
  const p = project(
    t,
    `pipeline {
  stage('Build') { steps { sh 'echo built > out.txt' } }
  stage('Test') { runtime { from 'Build' } steps { sh 'cat out.txt' } }
}
`,
  );
  p.env.OTTO_KEEP_WORKSPACES = '2';
  for (let i = 1; i <= 4; i++) {
    const r = p.otto(['run', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    if (i === 1) mkdirSync(join(p.home, 'runs', '99')); // not a run the store knows
  }
  assert.deepEqual(runDirs(p.home), ['3', '4', '99']);
  assert.ok(existsSync(join(p.home, 'runs', '4', 'ws')), "the newest run's workspaces are there");
  // The runs themselves, their logs and their history are kept.
  assert.deepEqual(
    p.runs().map((r) => [r.id, r.status]),
    [
      ['4', 'succeeded'],
      ['3', 'succeeded'],
      ['2', 'succeeded'],
      ['1', 'succeeded'],
    ],
  );
  const logs = p.otto(['logs', '1', 'Test']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /built/);
});

test('a rerun that needs a workspace that was removed fails that stage and says why', { timeout: 60_000 }, (t) => {
  const p = project(t, '');
  const fixed = join(p.scratch, 'fixed');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Build') { steps { sh 'echo built > out.txt' } }
  stage('Test') { runtime { from 'Build' } steps { sh 'cat out.txt; test -e ${fixed}' } }
}
`,
  );
  p.env.OTTO_KEEP_WORKSPACES = '0';
  assert.equal(p.otto(['run', '--quiet']).code, 1);
  assert.deepEqual(runDirs(p.home), [], 'keeping none removes even the last run');
  mkdirSync(fixed);
  const r = p.otto(['rerun', '1', '--from-failed']);
  assert.equal(r.code, 1, r.stderr);
  const test = p.run('2').stages.find((s) => s.path === 'Test');
  assert.equal(test?.status, 'failed');
  assert.match(
    test?.message ?? '',
    /stage 'Test' starts from the workspace of stage 'Build', carried over from an earlier run, but .* is gone \(Otto keeps the workspaces of the last OTTO_KEEP_WORKSPACES finished runs, 3 by default\); rerun without --from-failed/,
  );
  // A full rerun builds again and passes.
  assert.equal(p.otto(['rerun', '1']).code, 0);
});

test('OTTO_KEEP_WORKSPACES that is not a whole number is a usage error', { timeout: 30_000 }, (t) => {
  const p = project(t, `pipeline { stage('A') { steps { sh 'true' } } }\n`);
  p.env.OTTO_KEEP_WORKSPACES = 'lots';
  const r = p.otto(['run', '--quiet']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /OTTO_KEEP_WORKSPACES is 'lots': it must be a whole number of runs, such as 5 \(0 keeps none\)/,
  );
  assert.match(r.stderr, /help: unset it to keep the workspaces of the last 3 finished runs/);
});
