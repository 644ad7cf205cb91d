// How runs end badly: a step that ignores SIGTERM past its timeout, exit 3, fail-fast, `otto cancel`
// from another process, and Ctrl-C. Real processes; pids are checked with zombies counted as dead.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lines, pidGone, project, readPids, waitFor } from './run-helpers.js';

test(
  'otto run: a step ignoring SIGTERM past its timeout is killed with everything it started',
  { timeout: 30_000 },
  async (t) => {
    const p = project(t, '');
    const pids = join(p.scratch, 'pids');
    // The shell, its foreground sleep and a backgrounded grandchild all ignore SIGTERM.
    p.write(
      'Ottofile',
      `pipeline {
  stage('Stubborn') {
    timeout = '2s'
    steps { sh 'trap "" TERM; (trap "" TERM; sleep 30; echo survived > ${p.scratch}/survived) & echo "$$ $!" > ${pids}; sleep 30' }
  }
  stage('After') { steps { sh 'touch ${p.scratch}/after-ran' } }
}
`,
    );
    const started = Date.now();
    const r = p.otto(['run'], 25_000);
    const took = Date.now() - started;
    assert.equal(r.code, 1, r.stderr);
    const [shell, grandchild] = readPids(pids);
    assert.ok(shell && grandchild, 'the step wrote its pids');
    // SIGKILL was sent to the group before otto exited; allow the kernel a moment to finish them.
    await waitFor(
      `step processes ${shell} and ${grandchild} to be gone`,
      () => pidGone(shell) && pidGone(grandchild),
      2000,
    );
    assert.ok(!existsSync(join(p.scratch, 'survived')));
    assert.ok(!existsSync(join(p.scratch, 'after-ran')));
    assert.ok(took < 20_000, `the stage was stopped only after ${took} ms`);
    const run = p.run('1');
    assert.equal(run.status, 'failed');
    const [stubborn, after] = run.stages;
    assert.equal(stubborn?.status, 'timed_out');
    assert.match(stubborn?.message ?? '', /timed out after 2s/);
    assert.equal(after?.status, 'skipped');
    assert.match(after?.message ?? '', /'Stubborn' timed out/);
    assert.match(r.stdout, /\[Stubborn\] .*timed out/);
  },
);

test('otto run: exit 3 fails the stage with exit code 3 and skips every later stage with a reason', async (t) => {
  const p = project(t, '');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Build') { steps { sh 'echo built' } }
  stage('Check') { steps { sh 'echo checking; exit 3; echo unreachable' } }
  stage('Package') { steps { sh 'touch ${p.scratch}/package-ran' } }
  stage('Publish') { steps { sh 'touch ${p.scratch}/publish-ran' } }
  stage('Deploy') {
    steps { sh 'touch ${p.scratch}/deploy-ran' }
    stage('EU') { steps { sh 'touch ${p.scratch}/eu-ran' } }
  }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(!r.stdout.split('\n').includes('[Check] unreachable'), 'sh -e stops at exit 3');
  const run = p.run('1');
  assert.equal(run.status, 'failed');
  assert.match(run.message, /'Check' failed/);
  const byPath = new Map(run.stages.map((s) => [s.path, s]));
  assert.equal(byPath.get('Build')?.status, 'succeeded');
  assert.equal(byPath.get('Check')?.status, 'failed');
  assert.equal(byPath.get('Check')?.exitCode, 3);
  assert.match(byPath.get('Check')?.message ?? '', /exit status 3/);
  for (const later of ['Package', 'Publish', 'Deploy', 'Deploy/EU']) {
    assert.equal(
      byPath.get(later)?.status,
      'skipped',
      `${later} should be skipped: ${JSON.stringify(byPath.get(later))}`,
    );
    assert.match(byPath.get(later)?.message ?? '', /not run: 'Check' failed/, `${later}'s reason`);
  }
  for (const marker of ['package-ran', 'publish-ran', 'deploy-ran', 'eu-ran'])
    assert.ok(!existsSync(join(p.scratch, marker)), `${marker}: a stage after the failure ran`);
});

test(
  'otto run: a failed parallel branch cancels its running siblings (fail-fast) with SIGTERM',
  { timeout: 20_000 },
  async (t) => {
    const p = project(t, '');
    const mark = join(p.scratch, 'slow-term');
    p.write(
      'Ottofile',
      `pipeline {
  parallel {
    stage('Fast') { steps { sh 'while [ ! -e ${p.scratch}/slow-started ]; do sleep 0.05; done; exit 1' } }
    stage('Slow') { steps { sh 'trap "echo term > ${mark}; exit 143" TERM; touch ${p.scratch}/slow-started; sleep 30 & wait' } }
  }
  stage('After') { steps { sh 'touch ${p.scratch}/after-ran' } }
}
`,
    );
    const started = Date.now();
    const r = p.otto(['run', '--jobs', '2']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - started < 10_000, 'the sibling was not stopped promptly');
    assert.equal(readFileSync(mark, 'utf8').trim(), 'term');
    const run = p.run('1');
    assert.deepEqual(
      run.stages.map((s) => [s.path, s.status]),
      [
        ['Fast', 'failed'],
        ['Slow', 'cancelled'],
        ['After', 'skipped'],
      ],
    );
    assert.equal(run.status, 'failed');
    assert.ok(!existsSync(join(p.scratch, 'after-ran')));
  },
);

/** A pipeline whose second stage waits in a step that records SIGTERM. */
function cancellable(scratch: string): string {
  return `pipeline {
  stage('First') { steps { sh 'echo first' } }
  stage('Wait') {
    steps { sh 'trap "echo term > ${scratch}/term; exit 143" TERM; echo $$ > ${scratch}/pid; sleep 30 & echo $! >> ${scratch}/pid; wait' }
  }
  stage('Later') { steps { sh 'touch ${scratch}/later-ran' } }
}
`;
}

test(
  'otto cancel N from another process: steps get SIGTERM, the run ends cancelled with exit 130',
  { timeout: 30_000 },
  async (t) => {
    const p = project(t, '');
    p.write('Ottofile', cancellable(p.scratch));
    const run = p.start(['run']);
    await waitFor('the step to start', () => readPids(join(p.scratch, 'pid')).length === 2, 15_000);
    const c = p.otto(['cancel', '1']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /cancel requested/);
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(
      readFileSync(join(p.scratch, 'term'), 'utf8').trim(),
      'term',
      'the step did not get SIGTERM',
    );
    for (const pid of readPids(join(p.scratch, 'pid')))
      assert.ok(pidGone(pid), `step process ${pid} survived`);
    assert.ok(!existsSync(join(p.scratch, 'later-ran')));
    const rec = p.run('1');
    assert.equal(rec.status, 'cancelled');
    assert.match(rec.message, /cancel/);
    assert.deepEqual(
      rec.stages.map((s) => [s.path, s.status]),
      [
        ['First', 'succeeded'],
        ['Wait', 'cancelled'],
        ['Later', 'cancelled'],
      ],
    );
    // A finished run cannot be cancelled again.
    const again = p.otto(['cancel', '1']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already ended/);
  },
);

for (const how of [
  'the otto process',
  'the whole process group, as a terminal does',
  'SIGTERM',
] as const) {
  test(
    `otto run: ${how === 'SIGTERM' ? 'SIGTERM to the otto process' : `Ctrl-C (SIGINT to ${how})`} cancels the run, exit 130`,
    { timeout: 30_000 },
    async (t) => {
      const p = project(t, '');
      p.write('Ottofile', cancellable(p.scratch));
      const run = p.start(['run'], { detached: true });
      await waitFor(
        'the step to start',
        () => readPids(join(p.scratch, 'pid')).length === 2,
        15_000,
      );
      if (how === 'the otto process') process.kill(run.pid, 'SIGINT');
      else if (how === 'SIGTERM') process.kill(run.pid, 'SIGTERM');
      else process.kill(-run.pid, 'SIGINT');
      const r = await run.done;
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /cancelling/);
      assert.equal(
        readFileSync(join(p.scratch, 'term'), 'utf8').trim(),
        'term',
        'the step did not get SIGTERM',
      );
      for (const pid of readPids(join(p.scratch, 'pid')))
        assert.ok(pidGone(pid), `step process ${pid} survived`);
      const rec = p.run('1');
      assert.equal(rec.status, 'cancelled');
      assert.equal(rec.stages.find((s) => s.path === 'Wait')?.status, 'cancelled');
      assert.notEqual(rec.stages.find((s) => s.path === 'Later')?.status, 'succeeded');
      assert.ok(!existsSync(join(p.scratch, 'later-ran')));
      assert.deepEqual(lines(join(p.scratch, 'term')), ['term']);
    },
  );
}

test(
  'otto run: a second Ctrl-C stops at once, and the run is still recorded cancelled',
  { timeout: 30_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    // The step takes 2 s to stop after SIGTERM, so the second Ctrl-C comes while it is stopping.
    p.write(
      'Ottofile',
      `pipeline {\n  stage('Slow') { steps { sh 'trap "sleep 2; echo term > ${s}/term; exit 143" TERM; echo $$ > ${s}/pid; sleep 30 & echo $! >> ${s}/pid; wait' } }\n  stage('Later') { steps { sh 'touch ${s}/later-ran' } }\n}\n`,
    );
    const run = p.start(['run'], { detached: true });
    await waitFor('the step to start', () => readPids(join(s, 'pid')).length === 2, 15_000);
    process.kill(-run.pid, 'SIGINT');
    await waitFor('otto to say it is cancelling', () => run.stderr().includes('cancelling'), 5000);
    process.kill(-run.pid, 'SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    const pids = readPids(join(s, 'pid'));
    await waitFor(
      `the step processes ${pids.join(', ')} to be gone`,
      () => pids.every(pidGone),
      8000,
    );
    assert.ok(!existsSync(join(s, 'later-ran')));
    const rec = p.run('1');
    assert.equal(
      rec.status,
      'cancelled',
      `after Ctrl-C twice the run is ${rec.status}: ${rec.message}`,
    );
    // And it is not something to resume: that would run the cancelled step again.
    const resumed = p.otto(['resume', '1'], 10_000);
    assert.equal(resumed.code, 2, `otto resume of a cancelled run: ${resumed.stdout}`);
  },
);
