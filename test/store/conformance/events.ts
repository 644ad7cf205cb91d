// Conformance cases: the event log, optimistic appends and the run/stage projection.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runInput, stage, ev, type WithStore } from './fixtures.js';

export function eventCases(withStore: WithStore): void {
  describe('events', () => {
    test(
      'appendEvents numbers events from 1; readEvents returns them, after a seq',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        const data = {
          nested: { list: [1, 'two', null, true], empty: {} },
          text: 'ünïcødé 🚀 "q" \\ \u0000 \n',
          big: 2 ** 52,
        };
        assert.deepEqual(
          await s.appendEvents(run.id, [ev('run.started', 1), { type: 'x', at: 5, data }], 0),
          { ok: true, lastSeq: 2 },
        );
        assert.deepEqual(await s.appendEvents(run.id, [ev('stage.started', 3)], 2), {
          ok: true,
          lastSeq: 3,
        });
        const all = await s.readEvents(run.id);
        assert.deepEqual(all, [
          { runId: run.id, seq: 1, type: 'run.started', at: 1_700_000_000_001, data: { n: 1 } },
          { runId: run.id, seq: 2, type: 'x', at: 5, data },
          { runId: run.id, seq: 3, type: 'stage.started', at: 1_700_000_000_003, data: { n: 3 } },
        ]);
        assert.deepEqual(
          (await s.readEvents(run.id, 1)).map((e) => e.seq),
          [2, 3],
        );
        assert.deepEqual(await s.readEvents(run.id, 3), []);
        assert.deepEqual((await s.readEvents(run.id, 0)).length, 3);
        assert.equal((await s.getRun(run.id))?.lastSeq, 3);
        // Events of one run are not another's.
        const other = await s.createRun(runInput());
        assert.deepEqual(await s.readEvents(other.id), []);
        assert.deepEqual(await s.appendEvents(other.id, [ev('a')], 0), { ok: true, lastSeq: 1 });
      }),
    );

    test(
      'a stale expectedLastSeq is refused and changes nothing',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendEvents(run.id, [ev('a'), ev('b')], 0);
        for (const stale of [0, 1, 3, -1]) {
          const r = await s.appendEvents(run.id, [ev('c')], stale, {
            run: { status: 'failed', message: 'no' },
            stages: [stage('build', { status: 'failed' })],
          });
          assert.deepEqual(r, { ok: false, lastSeq: 2 }, `expected ${stale}`);
        }
        const after = await s.getRun(run.id);
        assert.equal(after?.status, 'queued');
        assert.equal(after?.message, '');
        assert.equal(after?.lastSeq, 2);
        assert.deepEqual(await s.listStages(run.id), []);
        assert.equal((await s.readEvents(run.id)).length, 2);
      }),
    );

    test(
      'appending to a run that does not exist fails',
      withStore(async (s) => {
        await assert.rejects(s.appendEvents('424242', [ev('a')], 0));
        await assert.rejects(s.appendEvents('not-a-run', [ev('a')], 0));
      }),
    );

    test(
      'an empty append applies the projection and keeps lastSeq',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendEvents(run.id, [ev('a')], 0);
        assert.deepEqual(await s.appendEvents(run.id, [], 1, { run: { status: 'running' } }), {
          ok: true,
          lastSeq: 1,
        });
        assert.equal((await s.getRun(run.id))?.status, 'running');
        assert.deepEqual(await s.appendEvents(run.id, [], 0), { ok: false, lastSeq: 1 });
      }),
    );

    test(
      'the run projection sets given fields only, null included',
      withStore(async (s) => {
        const run = await s.createRun(runInput({ owner: 'me', message: 'm0' }));
        await s.appendEvents(run.id, [ev('a')], 0, { run: { status: 'running', startedAt: 10 } });
        let r = await s.getRun(run.id);
        assert.deepEqual(
          [r?.status, r?.startedAt, r?.finishedAt, r?.message, r?.owner],
          ['running', 10, null, 'm0', 'me'],
        );
        await s.appendEvents(run.id, [ev('b')], 1, {
          run: { status: 'failed', finishedAt: 20, message: 'stage build failed', owner: null },
        });
        r = await s.getRun(run.id);
        assert.deepEqual(
          [r?.status, r?.startedAt, r?.finishedAt, r?.message, r?.owner, r?.lastSeq],
          ['failed', 10, 20, 'stage build failed', null, 2],
        );
        await s.appendEvents(run.id, [ev('c')], 2, {
          run: { startedAt: null, finishedAt: null },
        });
        r = await s.getRun(run.id);
        assert.deepEqual([r?.status, r?.startedAt, r?.finishedAt], ['failed', null, null]);
        // Fields outside the projection (project, trigger, createdAt…) never change.
        assert.deepEqual(
          {
            ...r,
            status: run.status,
            message: run.message,
            owner: run.owner,
            lastSeq: 0,
            startedAt: null,
            finishedAt: null,
          },
          run,
        );
      }),
    );

    test(
      'stage projections keep first-insert order and take the latest values',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendEvents(run.id, [ev('a')], 0, {
          stages: [stage('zeta'), stage('alpha'), stage('mid/child')],
        });
        assert.deepEqual(
          (await s.listStages(run.id)).map((x) => x.path),
          ['zeta', 'alpha', 'mid/child'],
        );
        // Updating alpha keeps its place; new stages go after those stored.
        await s.appendEvents(run.id, [ev('b')], 1, {
          stages: [
            stage('beta'),
            stage('alpha', {
              status: 'failed',
              attempt: 2,
              startedAt: 5,
              finishedAt: 9,
              message: 'exit 3',
              exitCode: 3,
            }),
            stage('aardvark'),
          ],
        });
        const stages = await s.listStages(run.id);
        assert.deepEqual(
          stages.map((x) => x.path),
          ['zeta', 'alpha', 'mid/child', 'beta', 'aardvark'],
        );
        assert.deepEqual(stages[1], {
          runId: run.id,
          path: 'alpha',
          status: 'failed',
          attempt: 2,
          startedAt: 5,
          finishedAt: 9,
          message: 'exit 3',
          exitCode: 3,
        });
        assert.deepEqual(stages[0], {
          runId: run.id,
          path: 'zeta',
          status: 'pending',
          attempt: 0,
          startedAt: null,
          finishedAt: null,
          message: '',
          exitCode: null,
        });
        // Back to nulls.
        await s.appendEvents(run.id, [], 2, {
          stages: [stage('alpha', { status: 'running', attempt: 3 })],
        });
        assert.deepEqual((await s.listStages(run.id))[1], {
          runId: run.id,
          path: 'alpha',
          status: 'running',
          attempt: 3,
          startedAt: null,
          finishedAt: null,
          message: '',
          exitCode: null,
        });
        // Stages belong to their run.
        const other = await s.createRun(runInput());
        assert.deepEqual(await s.listStages(other.id), []);
      }),
    );

    test(
      'a stage given twice in one projection takes its first place and its last values',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendEvents(run.id, [ev('a')], 0, { stages: [stage('old')] });
        await s.appendEvents(run.id, [ev('b')], 1, {
          stages: [
            stage('x', { status: 'queued' }),
            stage('y'),
            stage('x', { status: 'running', attempt: 1 }),
            stage('old', { status: 'skipped' }),
          ],
        });
        const stages = await s.listStages(run.id);
        assert.deepEqual(
          stages.map((x) => [x.path, x.status, x.attempt]),
          [
            ['old', 'skipped', 0],
            ['x', 'running', 1],
            ['y', 'pending', 0],
          ],
        );
      }),
    );

    test(
      'concurrent appends with one expectedLastSeq: exactly one wins',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        for (let round = 0; round < 5; round++) {
          const expected = (await s.getRun(run.id))?.lastSeq ?? -1;
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              s.appendEvents(run.id, [ev(`w${i}`), ev(`w${i}`)], expected, {
                stages: [stage(`s${round}-${i}`)],
              }),
            ),
          );
          const winners = results.filter((r) => r.ok);
          assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
          assert.ok(results.every((r) => r.lastSeq === expected + 2));
        }
        const events = await s.readEvents(run.id);
        assert.deepEqual(
          events.map((e) => e.seq),
          Array.from({ length: 10 }, (_, i) => i + 1),
        );
        assert.equal(
          (await s.listStages(run.id)).length,
          5,
          'only the winners’ projections were applied',
        );
      }),
    );
  });
}
