// The run state machine on hand-built plans: skips, fail-fast, stale reports, gates, locks, resume.
// Pure: no processes, no store, time comes from the events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brief, Driver, planOf } from './run-state-helpers.js';

const SEQUENCE = `pipeline {
  stage('A') { steps { sh 'a' } }
  stage('B') { steps { sh 'b' } }
  stage('C') { steps { sh 'c' } }
  stage('D') { steps { sh 'd' } }
}`;

test('run-state: stages run one after another, and the run succeeds', () => {
  const d = new Driver(planOf(SEQUENCE));
  assert.deepEqual(brief(d.start()), ['dispatch A#1']);
  assert.equal(d.m.status, 'running');
  d.dispatched('A');
  assert.equal(d.status('A'), 'running');
  assert.deepEqual(brief(d.finished('A', 'succeeded')), ['dispatch B#1']);
  assert.deepEqual(brief(d.run('B')), ['dispatch C#1']);
  assert.deepEqual(brief(d.run('C')), ['dispatch D#1']);
  assert.deepEqual(brief(d.run('D')), ['finish-run succeeded']);
  assert.equal(d.m.status, 'succeeded');
  assert.ok(d.m.isFinished);
});

test('run-state: a failure skips every later stage of the sequence, not only the next one', () => {
  const d = new Driver(planOf(SEQUENCE));
  d.start();
  const commands = d.run('A', 'failed');
  assert.deepEqual(d.statuses(), { A: 'failed', B: 'skipped', C: 'skipped', D: 'skipped' });
  assert.deepEqual(
    brief(commands),
    ['finish-run failed'],
    'nothing after a failed stage may be dispatched',
  );
  assert.match(d.message('B'), /not run: 'A' failed/);
  assert.match(d.message('C'), /'A' failed/, 'the reason names the stage that failed');
  assert.equal(d.m.status, 'failed');
});

test('run-state: a timed-out stage skips what follows and says so', () => {
  const d = new Driver(planOf(SEQUENCE));
  d.start();
  d.run('A');
  d.run('B', 'timed_out');
  assert.equal(d.status('B'), 'timed_out');
  assert.equal(d.status('C'), 'skipped');
  assert.match(d.message('C'), /'B' timed out/);
  assert.equal(d.status('D'), 'skipped');
  assert.equal(d.m.status, 'failed');
  assert.match(d.m.message, /'B' timed out/);
});

const WHEN_SKIPPED = `pipeline {
  stage('A') { steps { sh 'a' } }
  stage('OnlyOnRelease') { when { branch == 'release' } steps { sh 'r' } }
  stage('C') { steps { sh 'c' } }
}`;

test('run-state: a stage skipped at plan time (when) keeps its place: what follows waits for what came before', () => {
  const d = new Driver(planOf(WHEN_SKIPPED));
  // Shown as skipped from the start, though it keeps its place in the order.
  assert.equal(d.m.displayStatus('OnlyOnRelease'), 'skipped');
  assert.deepEqual(brief(d.start()), ['dispatch A#1'], 'C must not start beside A');
  assert.deepEqual(brief(d.run('A')), ['dispatch C#1']);
  assert.deepEqual(brief(d.run('C')), ['finish-run succeeded']);
  assert.equal(d.m.status, 'succeeded');
});

test('run-state: a failure before a stage skipped at plan time still skips what follows it', () => {
  const d = new Driver(planOf(WHEN_SKIPPED));
  d.start();
  assert.deepEqual(brief(d.run('A', 'failed')), ['finish-run failed']);
  assert.equal(d.status('C'), 'skipped');
});

const NESTED = `pipeline {
  stage('A') { steps { sh 'a' } }
  stage('Deploy') {
    steps { sh 'plan' }
    stage('EU') {
      stage('eu-west') { steps { sh 'w' } }
    }
    stage('US') { steps { sh 'us' } }
  }
  stage('After') { steps { sh 'after' } }
}`;

test('run-state: a parent skipped after a failure takes its nested stages (and theirs) with it', () => {
  const d = new Driver(
    planOf(`pipeline {
      stage('A') { steps { sh 'a' } }
      stage('Deploy') {
        steps { sh 'plan' }
        stage('EU') {
          stage('eu-west') { steps { sh 'w' } }
        }
      }
    }`),
  );
  d.start();
  assert.deepEqual(brief(d.run('A', 'failed')), ['finish-run failed']);
  assert.deepEqual(d.statuses(), {
    A: 'failed',
    Deploy: 'skipped',
    'Deploy/EU': 'skipped',
    'Deploy/EU/eu-west': 'skipped',
  });
  assert.match(d.message('Deploy/EU/eu-west'), /'A' failed/);
});

test('run-state: after a failure, nested stages and the stages after their parent are all skipped', () => {
  const d = new Driver(planOf(NESTED));
  d.start();
  const commands = d.run('A', 'failed');
  assert.deepEqual(brief(commands), ['finish-run failed']);
  assert.deepEqual(d.statuses(), {
    A: 'failed',
    Deploy: 'skipped',
    'Deploy/EU': 'skipped',
    'Deploy/EU/eu-west': 'skipped',
    'Deploy/US': 'skipped',
    After: 'skipped',
  });
  assert.match(d.message('Deploy/EU/eu-west'), /'A' failed/);
});

test('run-state: a parent whose own steps fail skips its nested stages and what follows', () => {
  const d = new Driver(planOf(NESTED));
  d.start();
  d.run('A');
  assert.equal(d.status('Deploy'), 'queued');
  d.run('Deploy', 'failed');
  assert.deepEqual(d.statuses(), {
    A: 'succeeded',
    Deploy: 'failed',
    'Deploy/EU': 'skipped',
    'Deploy/EU/eu-west': 'skipped',
    'Deploy/US': 'skipped',
    After: 'skipped',
  });
  assert.equal(d.m.status, 'failed');
});

test("run-state: nested stages run after the parent's own steps, one after another", () => {
  const d = new Driver(planOf(NESTED));
  d.start();
  d.run('A');
  // EU has nothing of its own to run: it succeeds at once and its first child is dispatched.
  assert.deepEqual(brief(d.run('Deploy')), ['dispatch Deploy/EU/eu-west#1']);
  assert.equal(d.status('Deploy/EU'), 'succeeded');
  assert.equal(
    d.m.displayStatus('Deploy'),
    'running',
    'a parent is not done before its nested stages',
  );
  assert.equal(d.m.displayStatus('Deploy/EU'), 'running');
  assert.deepEqual(brief(d.run('Deploy/EU/eu-west')), ['dispatch Deploy/US#1']);
  assert.deepEqual(brief(d.run('Deploy/US')), ['dispatch After#1']);
  assert.equal(d.m.displayStatus('Deploy'), 'succeeded');
});

const FAIL_FAST = `pipeline {
  parallel {
    stage('Fast') { steps { sh 'exit 1' } }
    stage('Slow') { steps { sh 'sleep 30' } }
    stage('Queued') { steps { sh 'sleep 30' } }
  }
  stage('After') { steps { sh 'after' } }
}`;

test('run-state: fail-fast cancels the running and the queued siblings of a failed branch', () => {
  const d = new Driver(planOf(FAIL_FAST));
  assert.deepEqual(brief(d.start()).sort(), [
    'dispatch Fast#1',
    'dispatch Queued#1',
    'dispatch Slow#1',
  ]);
  d.dispatched('Fast');
  d.dispatched('Slow');
  // Queued stays queued: --jobs left no room for it.
  const commands = brief(d.finished('Fast', 'failed'));
  assert.ok(commands.includes('cancel-job Slow#1'), commands.join(', '));
  assert.ok(commands.includes('cancel-job Queued#1'), commands.join(', '));
  assert.equal(d.status('Fast'), 'failed');
  assert.equal(d.status('Queued'), 'cancelled');
  // A running job ends only when its agent says so.
  assert.equal(d.status('Slow'), 'running');
  assert.equal(d.m.isFinished, false);
  assert.deepEqual(brief(d.finished('Slow', 'cancelled')), ['finish-run failed']);
  assert.equal(d.status('Slow'), 'cancelled');
  assert.equal(d.status('After'), 'skipped');
  assert.equal(d.m.status, 'failed');
});

test('run-state: with failFast = false a failed branch leaves its siblings running', () => {
  const d = new Driver(planOf(FAIL_FAST.replace('parallel {', 'parallel {\n    failFast = false')));
  d.start();
  d.dispatched('Fast');
  d.dispatched('Slow');
  assert.deepEqual(brief(d.finished('Fast', 'failed')), []);
  assert.equal(d.status('Slow'), 'running');
  d.finished('Slow', 'succeeded');
  assert.deepEqual(brief(d.run('Queued')), ['finish-run failed']);
  assert.equal(d.status('After'), 'skipped');
});

test('run-state: stale and unknown job reports are ignored', () => {
  const d = new Driver(
    planOf(`pipeline {
      stage('Flaky') { retry = 1 steps { sh 'x' } }
      stage('Next') { steps { sh 'n' } }
    }`),
  );
  d.start();
  d.dispatched('Flaky', 1);
  assert.deepEqual(brief(d.finished('Flaky', 'failed', 1)), ['dispatch Flaky#2']);
  // The first attempt reports again (a replayed or late message): nothing changes.
  assert.deepEqual(brief(d.finished('Flaky', 'failed', 1)), []);
  assert.deepEqual(brief(d.finished('Flaky', 'succeeded', 1)), []);
  assert.equal(d.status('Flaky'), 'queued');
  assert.equal(d.attempt('Flaky'), 2);
  // A report about a stage the plan does not have, or a dispatch of a past attempt.
  assert.deepEqual(brief(d.finished('Nope', 'succeeded', 1)), []);
  assert.deepEqual(brief(d.dispatched('Flaky', 1)), []);
  assert.equal(d.status('Flaky'), 'queued');
  d.dispatched('Flaky', 2);
  assert.deepEqual(brief(d.finished('Flaky', 'succeeded', 2)), ['dispatch Next#1']);
  // A duplicate of the report that was acted on.
  assert.deepEqual(brief(d.finished('Flaky', 'succeeded', 2)), []);
  assert.deepEqual(
    brief(d.apply({ type: 'job.lost', stage: 'Flaky', attempt: 2, reason: 'agent died' })),
    [],
  );
  assert.equal(d.status('Flaky'), 'succeeded');
});

test('run-state: retry dispatches again until the attempts are used up', () => {
  const d = new Driver(planOf(`pipeline { stage('Flaky') { retry = 2 steps { sh 'x' } } }`));
  d.start();
  assert.deepEqual(brief(d.run('Flaky', 'failed')), ['dispatch Flaky#2']);
  assert.equal(d.status('Flaky'), 'queued');
  assert.deepEqual(brief(d.run('Flaky', 'timed_out')), ['dispatch Flaky#3']);
  assert.deepEqual(brief(d.run('Flaky', 'failed')), ['finish-run failed']);
  assert.equal(d.status('Flaky'), 'failed');
  assert.equal(d.attempt('Flaky'), 3);
});

test('run-state: allowFailure makes a failed stage unstable and the run goes on to succeed', () => {
  const d = new Driver(
    planOf(`pipeline {
      stage('Lint') { allowFailure = true steps { sh 'x' } }
      stage('Ship') { steps { sh 's' } }
    }`),
  );
  d.start();
  assert.deepEqual(brief(d.run('Lint', 'failed')), ['dispatch Ship#1']);
  assert.equal(d.status('Lint'), 'unstable');
  assert.deepEqual(brief(d.run('Ship')), ['finish-run succeeded']);
  assert.equal(d.m.status, 'succeeded');
});

test('run-state: a stage about to be retried says why', () => {
  // jobFinished() writes "attempt 1 failed: …; retrying", then toAgent() overwrites it with ''.
  const d = new Driver(planOf(`pipeline { stage('Flaky') { retry = 1 steps { sh 'x' } } }`));
  d.start();
  d.run('Flaky', 'failed');
  assert.match(d.message('Flaky'), /attempt 1 failed.*retrying/);
});

const GATED = `pipeline {
  stage('Build') { steps { sh 'make' } }
  stage('Deploy') {
    gates { enter { input 'Deploy?', timeout: '1h' } exit { input 'Verified?' } }
    steps { sh 'deploy' }
  }
  stage('After') { steps { sh 'after' } }
}`;

test('run-state: enter and exit gates: approvals move the stage on', () => {
  const d = new Driver(planOf(GATED));
  d.start();
  assert.deepEqual(brief(d.run('Build')), ['open-gate Deploy enter[0]']);
  assert.equal(d.status('Deploy'), 'waiting');
  assert.equal(d.m.status, 'waiting', 'a run with only a gate open is waiting, not running');
  assert.match(d.message('Deploy'), /Deploy\?/);
  // A decision for another gate index is not this gate's decision.
  assert.deepEqual(
    brief(
      d.apply({
        type: 'gate.decided',
        stage: 'Deploy',
        phase: 'enter',
        index: 1,
        decision: 'approved',
        actor: 'x',
        comment: '',
      }),
    ),
    [],
  );
  assert.equal(d.status('Deploy'), 'waiting');
  assert.deepEqual(
    brief(
      d.apply({
        type: 'gate.decided',
        stage: 'Deploy',
        phase: 'enter',
        index: 0,
        decision: 'approved',
        actor: 'alice',
        comment: '',
      }),
    ),
    ['dispatch Deploy#1'],
  );
  assert.deepEqual(brief(d.run('Deploy')), ['open-gate Deploy exit[0]']);
  assert.equal(d.status('Deploy'), 'waiting');
  assert.deepEqual(
    brief(
      d.apply({
        type: 'gate.decided',
        stage: 'Deploy',
        phase: 'exit',
        index: 0,
        decision: 'approved',
        actor: 'bob',
        comment: '',
      }),
    ),
    ['dispatch After#1'],
  );
  assert.equal(d.status('Deploy'), 'succeeded');
  // A second decision on a closed gate changes nothing.
  assert.deepEqual(
    brief(
      d.apply({
        type: 'gate.decided',
        stage: 'Deploy',
        phase: 'exit',
        index: 0,
        decision: 'rejected',
        actor: 'eve',
        comment: '',
      }),
    ),
    [],
  );
  assert.equal(d.status('Deploy'), 'succeeded');
});

test('run-state: a rejected gate fails the stage with who and why; what follows is skipped', () => {
  const d = new Driver(planOf(GATED));
  d.start();
  d.run('Build');
  const commands = brief(
    d.apply({
      type: 'gate.decided',
      stage: 'Deploy',
      phase: 'enter',
      index: 0,
      decision: 'rejected',
      actor: 'alice',
      comment: 'not today',
    }),
  );
  assert.deepEqual(commands, ['finish-run failed']);
  assert.equal(d.status('Deploy'), 'failed');
  assert.match(d.message('Deploy'), /rejected by alice: not today/);
  assert.equal(d.status('After'), 'skipped');
  assert.equal(d.attempt('Deploy'), 0, 'a rejected stage never reached an agent');
});

test('run-state: a gate that times out times the stage out', () => {
  const d = new Driver(planOf(GATED));
  d.start();
  d.run('Build');
  d.apply({
    type: 'gate.decided',
    stage: 'Deploy',
    phase: 'enter',
    index: 0,
    decision: 'approved',
    actor: 'alice',
    comment: '',
  });
  d.run('Deploy');
  const commands = brief(
    d.apply({
      type: 'gate.decided',
      stage: 'Deploy',
      phase: 'exit',
      index: 0,
      decision: 'timed_out',
      actor: 'otto',
      comment: '',
    }),
  );
  assert.deepEqual(commands, ['finish-run failed']);
  assert.equal(d.status('Deploy'), 'timed_out');
  assert.match(d.message('Deploy'), /exit gate timed out/);
  assert.equal(d.status('After'), 'skipped');
});

test('run-state: cancelling a run closes an open gate', () => {
  const d = new Driver(planOf(GATED));
  d.start();
  d.run('Build');
  const commands = brief(d.apply({ type: 'run.cancel-requested', actor: 'alice', reason: 'no' }));
  assert.ok(commands.includes('close-gate Deploy enter[0]'), commands.join(', '));
  assert.ok(commands.includes('finish-run cancelled'), commands.join(', '));
  assert.equal(d.status('Deploy'), 'cancelled');
  assert.equal(d.m.status, 'cancelled');
});

const LOCKED = `pipeline {
  stage('Deploy') { concurrency = 'prod' steps { sh 'deploy' } }
  stage('After') { steps { sh 'after' } }
}`;

test('run-state: a concurrency group is waited for, held while running, released at the end', () => {
  const d = new Driver(planOf(LOCKED));
  assert.deepEqual(brief(d.start()), ['acquire-lock prod Deploy']);
  assert.equal(d.status('Deploy'), 'waiting');
  assert.match(d.message('Deploy'), /concurrency group 'prod'/);
  assert.equal(d.m.status, 'waiting');
  // A lock for another stage changes nothing.
  assert.deepEqual(brief(d.apply({ type: 'lock.acquired', stage: 'After', lock: 'prod' })), []);
  assert.deepEqual(brief(d.apply({ type: 'lock.acquired', stage: 'Deploy', lock: 'prod' })), [
    'dispatch Deploy#1',
  ]);
  assert.equal(d.m.stages.get('Deploy')?.lockHeld, true);
  // Acquired twice (a repeated event): still one dispatch.
  assert.deepEqual(brief(d.apply({ type: 'lock.acquired', stage: 'Deploy', lock: 'prod' })), []);
  assert.deepEqual(brief(d.run('Deploy', 'failed')), [
    'release-lock prod Deploy',
    'finish-run failed',
  ]);
});

test('run-state: cancelling a stage that waits for a lock leaves the queue', () => {
  const d = new Driver(planOf(LOCKED));
  d.start();
  const commands = brief(d.apply({ type: 'run.cancel-requested', actor: 'alice', reason: '' }));
  assert.ok(commands.includes('release-lock prod Deploy'), commands.join(', '));
  assert.ok(!commands.some((c) => c.startsWith('dispatch')));
  assert.equal(d.status('Deploy'), 'cancelled');
  assert.equal(d.m.status, 'cancelled');
});

test('run-state: run.resumed dispatches the interrupted attempt again without counting it against retry', () => {
  const d = new Driver(
    planOf(`pipeline {
      stage('A') { steps { sh 'a' } }
      stage('B') { retry = 1 steps { sh 'b' } }
    }`),
  );
  d.start();
  d.run('A');
  d.dispatched('B', 1);
  d.apply({ type: 'run.interrupted', reason: 'the otto process is gone' });
  assert.equal(d.m.status, 'interrupted');
  const commands = brief(d.apply({ type: 'run.resumed', owner: '2@test', restartRunning: true }));
  assert.deepEqual(commands, ['dispatch B#2'], 'only the interrupted stage runs again; A is not');
  assert.equal(d.m.status, 'running');
  assert.equal(d.m.stages.get('B')?.failures, 0, 'an interruption is not a failure');
  // The dead attempt's late report is stale.
  assert.deepEqual(brief(d.finished('B', 'failed', 1)), []);
  d.dispatched('B', 2);
  // The resumed attempt fails: retry = 1 still allows one more.
  assert.deepEqual(brief(d.finished('B', 'failed', 2)), ['dispatch B#3']);
  assert.deepEqual(brief(d.run('B')), ['finish-run succeeded']);
  assert.equal(d.m.status, 'succeeded');
});

test('run-state: run.resumed waits for the lock again for a stage that was waiting for it', () => {
  const d = new Driver(planOf(LOCKED));
  d.start();
  d.apply({ type: 'run.interrupted', reason: 'gone' });
  assert.deepEqual(brief(d.apply({ type: 'run.resumed', owner: '2@test', restartRunning: true })), [
    'acquire-lock prod Deploy',
  ]);
});

test('run-state: run.resumed takes the concurrency lock again before re-running a stage that held it', () => {
  // The lock belonged to the dead process; another run may have taken it since. Dispatching at once
  // would run two stages of one concurrency group together.
  const d = new Driver(planOf(LOCKED));
  d.start();
  d.apply({ type: 'lock.acquired', stage: 'Deploy', lock: 'prod' });
  d.dispatched('Deploy');
  d.apply({ type: 'run.interrupted', reason: 'gone' });
  const commands = brief(d.apply({ type: 'run.resumed', owner: '2@test', restartRunning: true }));
  assert.deepEqual(commands, ['acquire-lock prod Deploy']);
});

test('run-state: cancelling an interrupted run ends it as cancelled', () => {
  const d = new Driver(planOf(SEQUENCE));
  d.start();
  d.dispatched('A');
  d.apply({ type: 'run.interrupted', reason: 'gone' });
  const c1 = brief(
    d.apply({ type: 'run.cancel-requested', actor: 'alice', reason: 'otto cancel' }),
  );
  assert.deepEqual(c1, ['cancel-job A#1']);
  // What `otto cancel` records for the attempt nobody is running any more.
  const c2 = brief(d.finished('A', 'cancelled', 1, 'cancelled while interrupted'));
  assert.deepEqual(d.statuses(), {
    A: 'cancelled',
    B: 'cancelled',
    C: 'cancelled',
    D: 'cancelled',
  });
  assert.equal(d.m.status, 'cancelled');
  assert.deepEqual(c2, ['finish-run cancelled']);
  assert.ok(d.m.finishedAt !== null);
});

test('run-state: resuming a run whose cancel was requested runs nothing again and ends it cancelled', () => {
  // Ctrl-C twice: the cancel is recorded, then otto exits before the step has stopped.
  const d = new Driver(planOf(SEQUENCE));
  d.start();
  d.dispatched('A');
  assert.deepEqual(
    brief(d.apply({ type: 'run.cancel-requested', actor: 'alice', reason: 'Ctrl-C' })),
    ['cancel-job A#1'],
  );
  d.apply({ type: 'run.interrupted', reason: 'gone' });
  const commands = brief(d.apply({ type: 'run.resumed', owner: '2@test', restartRunning: true }));
  assert.ok(
    !commands.some((c) => c.startsWith('dispatch')),
    `a cancelled run dispatched work again: ${commands.join(', ')}`,
  );
  assert.equal(d.m.status, 'cancelled');
  assert.equal(d.status('A'), 'cancelled');
});

test('run-state: events after the run finished change nothing', () => {
  const d = new Driver(planOf(`pipeline { stage('A') { steps { sh 'a' } } }`));
  d.start();
  d.run('A');
  assert.equal(d.m.status, 'succeeded');
  assert.deepEqual(brief(d.apply({ type: 'run.cancel-requested', actor: 'x', reason: '' })), []);
  assert.deepEqual(brief(d.apply({ type: 'run.interrupted', reason: 'late' })), []);
  assert.deepEqual(
    brief(d.apply({ type: 'run.resumed', owner: '3@test', restartRunning: true })),
    [],
  );
  assert.equal(d.m.status, 'succeeded');
  assert.equal(d.status('A'), 'succeeded');
});

test('run-state: a stage reused by rerun --from-failed is not run again', () => {
  const plan = planOf(SEQUENCE);
  const d = new Driver();
  d.apply({
    type: 'run.created',
    plan,
    reused: {
      A: { fromRun: '1', status: 'succeeded', attempt: 1 },
      B: { fromRun: '1', status: 'succeeded', attempt: 2 },
    },
  });
  assert.deepEqual(brief(d.start()), ['dispatch C#1']);
  assert.match(d.message('A'), /reused from run 1/);
  assert.equal(d.attempt('B'), 2);
});
