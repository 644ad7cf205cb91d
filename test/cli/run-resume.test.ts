// Runs that outlive their otto process: kill -9 and `otto resume`, `otto cancel` of an interrupted
// run, concurrency locks across a resume, and `otto rerun --from-failed`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  childrenOf,
  intervals,
  lines,
  pidGone,
  project,
  readPids,
  stamp,
  waitFor,
} from './run-helpers.js';

test(
  'kill -9 of otto run: the run shows interrupted, its processes are gone, otto resume finishes it without redoing finished stages',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    p.write(
      'Ottofile',
      `pipeline {
  stage('First') { steps { sh 'echo ran >> ${s}/first' } }
  stage('Slow') {
    steps { sh 'echo ran >> ${s}/slow; if [ -e ${s}/fast ]; then echo fast; else sleep 30 & echo "$$ $!" > ${s}/pids; wait; fi' }
  }
  stage('Last') { steps { sh 'echo ran >> ${s}/last' } }
}
`,
    );
    const run = p.start(['run']);
    await waitFor('the slow step to start', () => readPids(join(s, 'pids')).length === 2, 15_000);
    const agents = childrenOf(run.pid);
    assert.ok(agents.length >= 1, 'otto run has its agent child');

    // While its otto process lives, the run cannot be resumed from elsewhere.
    const early = p.otto(['resume', '1']);
    assert.equal(early.code, 2, early.stderr);
    assert.match(early.stderr, /still running/);

    process.kill(run.pid, 'SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    const orphans = [...readPids(join(s, 'pids')), ...agents];
    await waitFor(
      `the agent and step processes (${orphans.join(', ')}) to be gone`,
      () => orphans.every(pidGone),
      8000,
    );

    const interrupted = p.run('1');
    assert.equal(interrupted.status, 'interrupted');
    assert.match(interrupted.message, /otto resume 1/);
    assert.equal(
      p.runs().filter((r) => r.status === 'running').length,
      0,
      'a run whose process died is never shown running',
    );

    writeFileSync(join(s, 'fast'), '');
    const resumed = p.otto(['resume', '1']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(
      lines(join(s, 'first')),
      ['ran'],
      'the stage finished before the kill ran again',
    );
    assert.deepEqual(lines(join(s, 'slow')), ['ran', 'ran']);
    assert.deepEqual(lines(join(s, 'last')), ['ran']);
    const done = p.run('1');
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(
      done.stages.map((x) => [x.path, x.status]),
      [
        ['First', 'succeeded'],
        ['Slow', 'succeeded'],
        ['Last', 'succeeded'],
      ],
    );
    assert.equal(done.stages[0]?.attempt, 1);
    // Resuming a finished run is refused.
    const again = p.otto(['resume', '1']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already ended/);
  },
);

test('otto cancel of an interrupted run records it cancelled', { timeout: 30_000 }, async (t) => {
  const p = project(t, '');
  const s = p.scratch;
  p.write(
    'Ottofile',
    `pipeline {\n  stage('Wait') { steps { sh 'echo $$ > ${s}/pid; sleep 30' } }\n  stage('Later') { steps { sh 'echo later' } }\n}\n`,
  );
  const run = p.start(['run']);
  await waitFor('the step to start', () => readPids(join(s, 'pid')).length === 1, 15_000);
  process.kill(run.pid, 'SIGKILL');
  await run.done;
  assert.equal(p.run('1').status, 'interrupted');
  const c = p.otto(['cancel', '1']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /run 1 cancelled/);
  const rec = p.run('1');
  assert.equal(
    rec.status,
    'cancelled',
    `otto cancel said "cancelled" but the run is ${rec.status}`,
  );
  assert.ok(
    rec.stages.every((x) => x.status === 'cancelled'),
    JSON.stringify(rec.stages),
  );
  assert.equal(p.otto(['resume', '1']).code, 2, 'a cancelled run cannot be resumed');
});

/** A concurrency-group stage that stamps its critical section; it sleeps 30 s until `go` exists. */
function locked(s: string, hold: string): string {
  return `pipeline {
  stage('Deploy') {
    concurrency = 'deploy'
    steps { sh '${stamp('start', '$OTTO_RUN_ID', `${s}/ts`)}; if [ -e ${s}/go ]; then sleep ${hold}; else sleep 30; fi; ${stamp('end', '$OTTO_RUN_ID', `${s}/ts`)}' }
  }
}
`;
}

test(
  'concurrency groups: a resumed run that held the lock does not run beside a newer run of the group',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    p.write('Ottofile', locked(s, '2'));
    const first = p.start(['run']);
    await waitFor(
      'run 1 to hold the lock',
      () => lines(join(s, 'ts')).some((l) => l.startsWith('start 1 ')),
      15_000,
    );
    process.kill(first.pid, 'SIGKILL');
    await first.done;
    writeFileSync(join(s, 'go'), '');
    const resumed = p.start(['resume', '1']);
    await waitFor(
      'run 1 to resume',
      () =>
        lines(join(s, 'ts')).filter((l) => l.startsWith('start 1 ')).length === 2 ||
        resumed.child.exitCode !== null,
      15_000,
    );
    const second = p.start(['run']);
    const [r1, r2] = await Promise.all([resumed.done, second.done]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const sections = intervals(join(s, 'ts'));
    const a = sections.get('1');
    const b = sections.get('2');
    assert.ok(a && b);
    assert.ok(
      a.end <= b.start || b.end <= a.start,
      `two stages of concurrency group 'deploy' ran at once: run 1 ${JSON.stringify(a)}, run 2 ${JSON.stringify(b)}`,
    );
  },
);

test(
  'concurrency groups: a resumed run that was waiting for the lock gets it once its holder is gone',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    p.write('Ottofile', locked(s, '0.1'));
    const first = p.start(['run']);
    await waitFor(
      'run 1 to hold the lock',
      () => lines(join(s, 'ts')).some((l) => l.startsWith('start 1 ')),
      15_000,
    );
    const second = p.start(['run']);
    await waitFor(
      'run 2 to wait for the lock',
      async () =>
        (await p.store().listStages('2')).find((x) => x.path === 'Deploy')?.status === 'waiting',
      15_000,
    );
    process.kill(first.pid, 'SIGKILL');
    process.kill(second.pid, 'SIGKILL');
    await Promise.all([first.done, second.done]);
    writeFileSync(join(s, 'go'), '');
    // Nobody holds the lock any more: run 1's process is dead.
    const resumed = await p.start(['resume', '2'], { timeoutMs: 6000 }).done;
    assert.equal(
      resumed.signal,
      null,
      `otto resume 2 was still waiting for the lock after 6 s:\n${resumed.stdout}`,
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(lines(join(s, 'ts')).some((l) => l.startsWith('end 2 ')));
  },
);

test(
  'otto rerun --from-failed reuses the stages that succeeded and reruns the failed one and what follows',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    p.write(
      'Ottofile',
      `pipeline {
  stage('Build') { steps { sh 'echo ran >> ${s}/build; echo "artifact of run $OTTO_RUN_ID" > built.txt' } }
  stage('Test') {
    runtime { from 'Build' }
    steps { sh 'echo ran >> ${s}/test; cat built.txt > ${s}/test-saw; test -e ${s}/fixed' }
  }
  stage('Package') {
    runtime { from 'Test' }
    steps { sh 'echo ran >> ${s}/package; cat built.txt > ${s}/package-saw' }
  }
}
`,
    );
    assert.equal(p.otto(['run']).code, 1);
    assert.deepEqual(
      p.run('1').stages.map((x) => [x.path, x.status]),
      [
        ['Build', 'succeeded'],
        ['Test', 'failed'],
        ['Package', 'skipped'],
      ],
    );

    // Still broken: run 2 fails again, without building again.
    const r2 = p.otto(['rerun', '1', '--from-failed']);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /run 2 reruns run 1, reusing 1 stage/);
    assert.deepEqual(lines(join(s, 'build')), ['ran']);
    assert.deepEqual(lines(join(s, 'test')), ['ran', 'ran']);

    // Fixed: a rerun of the rerun reuses Build (from run 1) and runs Test and Package.
    writeFileSync(join(s, 'fixed'), '');
    const r3 = p.otto(['rerun', '2', '--from-failed']);
    assert.equal(r3.code, 0, r3.stderr);
    assert.deepEqual(lines(join(s, 'build')), ['ran'], 'Build ran again');
    assert.deepEqual(lines(join(s, 'test')), ['ran', 'ran', 'ran']);
    assert.deepEqual(lines(join(s, 'package')), ['ran']);
    assert.equal(
      readFileSync(join(s, 'test-saw'), 'utf8').trim(),
      'artifact of run 1',
      "Test's runtime { from 'Build' } sees Build's files",
    );
    assert.equal(readFileSync(join(s, 'package-saw'), 'utf8').trim(), 'artifact of run 1');
    const run3 = p.run('3');
    assert.equal(run3.status, 'succeeded');
    assert.equal(run3.rerunOf, '2');
    const build = run3.stages.find((x) => x.path === 'Build');
    assert.equal(build?.status, 'succeeded');
    assert.match(build?.message ?? '', /reused from run 1/);
    // Nothing failed in run 3.
    const none = p.otto(['rerun', '3', '--from-failed']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /succeeded/);
    // A plain rerun runs everything again.
    assert.equal(p.otto(['rerun', '3']).code, 0);
    assert.deepEqual(lines(join(s, 'build')), ['ran', 'ran']);
  },
);
