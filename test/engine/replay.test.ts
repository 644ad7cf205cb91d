// Replays recorded event logs of real runs through a fresh RunMachine and checks it decides exactly as
// it did when they were recorded: the same commands, stage records and run state, event by event.
// The fixtures (test/engine/fixtures/replay-*.json) come from real `otto run`s; regenerate them with
//   UPDATE_FIXTURES=1 node scripts/run-tests.mjs engine/replay
// after an intended change to the state machine, and review the diff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunMachine } from '../../src/engine/index.js';
import { decide, finalStages, recordFixture, type ReplayFixture } from './replay-record.js';
import { fixturesDir, project, waitFor, type Project } from '../cli/run-helpers.js';

const update = process.env.UPDATE_FIXTURES === '1';

// ------------------------------------------------------------------ recording (UPDATE_FIXTURES=1)

interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly ottofile: string;
  /** Drives the real CLI; returns the commands it ran. The run recorded is run 1. */
  readonly drive: (p: Project) => Promise<string[]>;
}

// Steps keep state in the store directory (.otto), four levels above their workspace
// (.otto/runs/<run>/ws/<stage>), so the fixtures hold no temp paths.
const HOME = '../../../..';

function expectCode(
  what: string,
  got: { code: number | null; stderr: string },
  code: number,
): void {
  assert.equal(got.code, code, `${what}: ${got.stderr}`);
}

const scenarios: readonly Scenario[] = [
  {
    name: 'success',
    description:
      'a run that succeeds: runtime from, a parallel block with an allowFailure branch, a concurrency group, a nested stage',
    ottofile: `pipeline {
  stage('Build') { steps { sh 'echo build > built.txt' } }
  parallel {
    stage('Unit') { runtime { from 'Build' } steps { sh 'cat built.txt' } }
    stage('Lint') { allowFailure = true steps { sh 'echo lint; exit 2' } }
  }
  stage('Deploy') {
    concurrency = 'deploy'
    steps { sh 'echo deploy' }
    stage('EU') { steps { sh 'echo eu' } }
  }
}
`,
    drive: async (p) => {
      expectCode('otto run', p.otto(['run', '--jobs', '2']), 0);
      return ['otto run --jobs 2'];
    },
  },
  {
    name: 'retry',
    description: 'retry = 2: a stage fails twice, succeeds on attempt 3, and the next stage runs',
    ottofile: `pipeline {
  stage('Flaky') {
    retry = 2
    steps { sh 'c=$(cat ${HOME}/count 2>/dev/null || echo 0); c=$((c+1)); echo $c > ${HOME}/count; echo "try $c"; [ $c -ge 3 ]' }
  }
  stage('After') { steps { sh 'echo after' } }
}
`,
    drive: async (p) => {
      expectCode('otto run', p.otto(['run']), 0);
      return ['otto run'];
    },
  },
  {
    name: 'fail-fast',
    description:
      'a parallel branch fails and fail-fast cancels its running sibling; the stage after the block is skipped',
    ottofile: `pipeline {
  parallel {
    stage('Fast') { steps { sh 'i=0; while [ ! -e ${HOME}/slow-started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; exit 1' } }
    stage('Slow') { steps { sh 'touch ${HOME}/slow-started; sleep 30' } }
  }
  stage('After') { steps { sh 'echo after' } }
}
`,
    drive: async (p) => {
      expectCode('otto run', p.otto(['run', '--jobs', '2']), 1);
      return ['otto run --jobs 2'];
    },
  },
  {
    name: 'cancel',
    description: 'otto cancel from another process while a step sleeps',
    ottofile: `pipeline {
  stage('First') { steps { sh 'echo first' } }
  stage('Wait') { steps { sh 'touch ${HOME}/waiting; sleep 30' } }
  stage('Later') { steps { sh 'echo later' } }
}
`,
    drive: async (p) => {
      const run = p.start(['run']);
      await waitFor('the step to start', () => existsSync(join(p.home, 'waiting')), 15_000);
      expectCode('otto cancel 1', p.otto(['cancel', '1']), 0);
      expectCode('otto run', await run.done, 130);
      return ['otto run', 'otto cancel 1'];
    },
  },
  {
    name: 'kill-resume',
    description:
      'kill -9 of otto run mid-stage, otto runs notices the run is interrupted, otto resume finishes it',
    ottofile: `pipeline {
  stage('First') { steps { sh 'echo first' } }
  stage('Slow') { steps { sh 'if [ -e ${HOME}/fast ]; then echo fast; else touch ${HOME}/slow-started; sleep 30; fi' } }
  stage('Last') { steps { sh 'echo last' } }
}
`,
    drive: async (p) => {
      const run = p.start(['run']);
      await waitFor(
        'the slow step to start',
        () => existsSync(join(p.home, 'slow-started')),
        15_000,
      );
      process.kill(run.pid, 'SIGKILL');
      await run.done;
      expectCode('otto runs', p.otto(['runs']), 0);
      writeFileSync(join(p.home, 'fast'), '');
      expectCode('otto resume 1', p.otto(['resume', '1']), 0);
      return ['otto run', 'kill -9 <otto run>', 'otto runs', 'otto resume 1'];
    },
  },
];

if (update) {
  for (const s of scenarios) {
    test(`replay fixture: record '${s.name}' from a real run`, { timeout: 60_000 }, async (t) => {
      const p = project(t, s.ottofile);
      const cli = await s.drive(p);
      const store = p.store();
      const fixture = await recordFixture(store, '1', {
        name: s.name,
        description: s.description,
        cli,
      });
      // The store's projection of the run is what the machine's fold says.
      const run = await store.getRun('1');
      const last = fixture.steps[fixture.steps.length - 1];
      assert.equal(run?.status, last?.run.status);
      assert.deepEqual(
        (await store.listStages('1')).map(({ runId: _runId, ...rest }) => rest),
        finalStages(fixture.events),
      );
      writeFileSync(
        join(fixturesDir, `replay-${s.name}.json`),
        `${JSON.stringify(fixture, null, 1)}\n`,
      );
    });
  }
}

// ------------------------------------------------------------------ replay

// While recording, the files are being rewritten: replay them in the next run.
const files = update
  ? []
  : readdirSync(fixturesDir)
      .filter((f) => /^replay-.*\.json$/.test(f))
      .sort();

test('replay fixtures exist for every scenario', { skip: update && 'recording' }, () => {
  assert.deepEqual(
    files,
    scenarios.map((s) => `replay-${s.name}.json`).sort(),
    'run UPDATE_FIXTURES=1 node scripts/run-tests.mjs engine/replay to record them',
  );
});

for (const file of files) {
  test(`replay: ${file} decides the same, event by event`, () => {
    const fixture = JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as ReplayFixture;
    assert.equal(fixture.steps.length, fixture.events.length);
    const replayed = decide(fixture.events);
    for (let i = 0; i < fixture.events.length; i++) {
      const e = fixture.events[i];
      // Compare through JSON: the fixture went through it too (undefined fields vanish).
      assert.deepEqual(
        JSON.parse(JSON.stringify(replayed[i])),
        fixture.steps[i],
        `event ${i} (${e?.type}${e && 'stage' in e ? ` ${e.stage}` : ''}) was decided differently`,
      );
    }
    // Folding the whole log at once ends in the same place as applying it event by event.
    const folded = RunMachine.fold(fixture.events);
    const last = fixture.steps[fixture.steps.length - 1];
    assert.equal(folded.status, last?.run.status);
    assert.ok(folded.isFinished, `the recorded run '${fixture.name}' did not finish`);
  });
}

test('replay: each recorded run ends as its scenario says', () => {
  const expected: Record<string, string> = {
    success: 'succeeded',
    retry: 'succeeded',
    'fail-fast': 'failed',
    cancel: 'cancelled',
    'kill-resume': 'succeeded',
  };
  for (const file of files) {
    const fixture = JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as ReplayFixture;
    const m = RunMachine.fold(fixture.events);
    assert.equal(m.status, expected[fixture.name], fixture.name);
    const types = fixture.events.map((e) => e.type);
    if (fixture.name === 'kill-resume') {
      assert.ok(
        types.includes('run.interrupted') && types.includes('run.resumed'),
        types.join(' '),
      );
      // First ran once: one dispatch before the kill, none after.
      assert.equal(
        fixture.events.filter((e) => e.type === 'stage.dispatched' && e.stage === 'First').length,
        1,
      );
    }
    if (fixture.name === 'retry') assert.equal(m.stages.get('Flaky')?.attempt, 3);
    if (fixture.name === 'fail-fast') assert.equal(m.stages.get('Slow')?.status, 'cancelled');
  }
});
