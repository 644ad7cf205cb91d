// Concurrency groups across otto processes sharing one store, and parallel stages under --jobs.
// Overlap is judged from timestamps the steps write, not from wall time alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { intervals, lines, project, sleep, stamp, waitFor } from './run-helpers.js';

test(
  'concurrency groups: runs in two (three) otto processes take the lock one at a time, first come first served',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const ts = join(p.scratch, 'ts');
    const go = join(p.scratch, 'go');
    // Each critical section waits for the test's go-ahead (bounded), then holds the lock a while.
    p.write(
      'Ottofile',
      `pipeline {
  stage('Deploy') {
    concurrency = 'deploy'
    steps { sh '${stamp('start', '$OTTO_RUN_ID', ts)}; i=0; while [ ! -e ${go} ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; sleep 0.4; ${stamp('end', '$OTTO_RUN_ID', ts)}' }
  }
}
`,
    );
    const store = p.store;
    const stageOf = async (run: string): Promise<{ status: string; message: string } | undefined> =>
      (await store().listStages(run)).find((s) => s.path === 'Deploy');

    const first = p.start(['run']);
    await waitFor(
      'run 1 to hold the lock',
      () => lines(ts).some((l) => l.startsWith('start 1 ')),
      15_000,
    );
    const second = p.start(['run']);
    await waitFor(
      'run 2 to wait for the lock',
      async () => (await stageOf('2'))?.status === 'waiting',
      15_000,
    );
    assert.match((await stageOf('2'))?.message ?? '', /concurrency group 'deploy'/);
    const third = p.start(['run']);
    await waitFor(
      'run 3 to wait for the lock',
      async () => (await stageOf('3'))?.status === 'waiting',
      15_000,
    );
    // While run 1 holds the lock, the others stay out.
    await sleep(300);
    assert.deepEqual(
      lines(ts).map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['start 1'],
    );
    assert.equal((await stageOf('2'))?.status, 'waiting');
    const runs = await store().listRuns();
    assert.deepEqual(runs.map((r) => [r.id, r.status]).sort(), [
      ['1', 'running'],
      ['2', 'waiting'],
      ['3', 'waiting'],
    ]);
    writeFileSync(go, '');
    const results = await Promise.all([first.done, second.done, third.done]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const sections = intervals(ts);
    const order = lines(ts)
      .filter((l) => l.startsWith('start '))
      .map((l) => l.split(' ')[1]);
    assert.deepEqual(
      order,
      ['1', '2', '3'],
      'FIFO: the lock goes to the runs in the order they asked for it',
    );
    const s1 = sections.get('1');
    const s2 = sections.get('2');
    const s3 = sections.get('3');
    assert.ok(s1 && s2 && s3);
    assert.ok(s1.end <= s2.start, `runs 1 and 2 overlapped: ${JSON.stringify([s1, s2])}`);
    assert.ok(s2.end <= s3.start, `runs 2 and 3 overlapped: ${JSON.stringify([s2, s3])}`);
  },
);

const PARALLEL = (ts: string): string => `pipeline {
  parallel {
    stage('A') { steps { sh '${stamp('start', 'A', ts)}; sleep 1; ${stamp('end', 'A', ts)}' } }
    stage('B') { steps { sh '${stamp('start', 'B', ts)}; sleep 1; ${stamp('end', 'B', ts)}' } }
    stage('C') { steps { sh '${stamp('start', 'C', ts)}; sleep 1; ${stamp('end', 'C', ts)}' } }
  }
}
`;

test('parallel: three 1 s stages overlap with --jobs 3', { timeout: 30_000 }, async (t) => {
  const p = project(t, '');
  const ts = join(p.scratch, 'ts');
  p.write('Ottofile', PARALLEL(ts));
  const r = p.otto(['run', '--jobs', '3']);
  assert.equal(r.code, 0, r.stderr);
  const all = [...intervals(ts).values()];
  assert.equal(all.length, 3);
  const lastStart = Math.max(...all.map((i) => i.start));
  const firstEnd = Math.min(...all.map((i) => i.end));
  assert.ok(
    lastStart < firstEnd,
    `the three stages were never running at the same moment: ${JSON.stringify(all)}`,
  );
  const span = Math.max(...all.map((i) => i.end)) - Math.min(...all.map((i) => i.start));
  assert.ok(span < 2700, `three 1 s stages took ${span} ms with --jobs 3`);
});

test('parallel: --jobs 1 runs the three stages one at a time', { timeout: 30_000 }, async (t) => {
  const p = project(t, '');
  const ts = join(p.scratch, 'ts');
  p.write('Ottofile', PARALLEL(ts));
  const r = p.otto(['run', '--jobs', '1']);
  assert.equal(r.code, 0, r.stderr);
  const all = [...intervals(ts).values()].sort((a, b) => a.start - b.start);
  assert.equal(all.length, 3);
  for (let i = 1; i < all.length; i++) {
    assert.ok(
      (all[i - 1] as { end: number }).end <= (all[i] as { start: number }).start,
      `stages overlapped under --jobs 1: ${JSON.stringify(all)}`,
    );
  }
  const span = (all[2] as { end: number }).end - (all[0] as { start: number }).start;
  assert.ok(span >= 3000, `three 1 s stages took only ${span} ms with --jobs 1`);
});

test(
  'concurrency groups: cancelling a run that waits for the lock takes it out of the queue',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const ts = join(p.scratch, 'ts');
    const go = join(p.scratch, 'go');
    p.write(
      'Ottofile',
      `pipeline {
  stage('Deploy') {
    concurrency = 'deploy'
    steps { sh '${stamp('start', '$OTTO_RUN_ID', ts)}; i=0; while [ ! -e ${go} ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; ${stamp('end', '$OTTO_RUN_ID', ts)}' }
  }
}
`,
    );
    const stageOf = async (run: string): Promise<string | undefined> =>
      (await p.store().listStages(run)).find((s) => s.path === 'Deploy')?.status;
    const first = p.start(['run']);
    await waitFor(
      'run 1 to hold the lock',
      () => lines(ts).some((l) => l.startsWith('start 1 ')),
      15_000,
    );
    const second = p.start(['run']);
    await waitFor('run 2 to wait', async () => (await stageOf('2')) === 'waiting', 15_000);
    const third = p.start(['run']);
    await waitFor('run 3 to wait', async () => (await stageOf('3')) === 'waiting', 15_000);
    assert.equal(p.otto(['cancel', '2']).code, 0);
    const r2 = await second.done;
    assert.equal(r2.code, 130, r2.stderr);
    assert.equal(await stageOf('2'), 'cancelled');
    writeFileSync(go, '');
    const [r1, r3] = await Promise.all([first.done, third.done]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r3.code, 0, r3.stderr);
    assert.deepEqual(
      lines(ts).map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['start 1', 'end 1', 'start 3', 'end 3'],
    );
  },
);

test(
  'sequence: a stage skipped by `when` does not let the stage after it start early',
  { timeout: 30_000 },
  async (t) => {
    const p = project(t, '');
    const ts = join(p.scratch, 'ts');
    p.write(
      'Ottofile',
      `pipeline {
  stage('A') { steps { sh '${stamp('start', 'A', ts)}; sleep 0.5; ${stamp('end', 'A', ts)}' } }
  stage('OnlyOnRelease') { when { branch == 'release' } steps { sh 'echo release' } }
  stage('C') { steps { sh '${stamp('start', 'C', ts)}; ${stamp('end', 'C', ts)}' } }
}
`,
    );
    const r = p.otto(['run', '--branch', 'main']);
    assert.equal(r.code, 0, r.stderr);
    const a = intervals(ts).get('A');
    const c = intervals(ts).get('C');
    assert.ok(a && c);
    assert.ok(a.end <= c.start, `C started ${Math.round(a.end - c.start)} ms before A ended`);
  },
);

test(
  'concurrency groups: a pipeline-level concurrency holds the group for the whole run',
  { timeout: 45_000 },
  async (t) => {
    const p = project(t, '');
    const ts = join(p.scratch, 'ts');
    const go = join(p.scratch, 'go');
    p.write(
      'Ottofile',
      `pipeline {
  concurrency = 'whole'
  stage('One') { steps { sh '${stamp('start', '$OTTO_RUN_ID', ts)}; i=0; while [ ! -e ${go} ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done' } }
  stage('Two') { steps { sh 'sleep 0.3; ${stamp('end', '$OTTO_RUN_ID', ts)}' } }
}
`,
    );
    const first = p.start(['run']);
    await waitFor('run 1 to start', () => lines(ts).some((l) => l.startsWith('start 1 ')), 15_000);
    const second = p.start(['run']);
    await waitFor(
      'run 2 to be recorded',
      async () => (await p.store().listRuns()).length === 2,
      15_000,
    );
    await sleep(1000);
    writeFileSync(go, '');
    const [r1, r2] = await Promise.all([first.done, second.done]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const a = intervals(ts).get('1');
    const b = intervals(ts).get('2');
    assert.ok(a && b);
    assert.ok(
      a.end <= b.start,
      `run 2 started while run 1 held pipeline concurrency 'whole': ${JSON.stringify({ a, b })}`,
    );
  },
);
