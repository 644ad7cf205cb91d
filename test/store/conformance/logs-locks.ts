// Conformance cases: idempotent log chunks and FIFO concurrency locks.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Store } from '../../../src/store/index.js';
import { runInput, log, type WithStore } from './fixtures.js';

export function logAndLockCases(withStore: WithStore): void {
  describe('logs', () => {
    test(
      'appendLogs stores chunks; readLogs orders by stage, attempt, seq',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendLogs(run.id, 'build', 0, [
          log(2, 'two\n'),
          log(1, 'one\n', { step: null, stream: 'system' }),
        ]);
        await s.appendLogs(run.id, 'build', 1, [log(1, 'retry\n', { stream: 'stderr', step: 3 })]);
        // Byte order, not a locale's: 'B' < 'a' < 'b' < 'é'.
        await s.appendLogs(run.id, 'a', 0, [log(1, 'a1')]);
        await s.appendLogs(run.id, 'B', 0, [log(1, 'B1')]);
        await s.appendLogs(run.id, 'é', 0, [log(1, 'e1')]);
        const all = await s.readLogs(run.id);
        assert.deepEqual(
          all.map((l) => [l.stage, l.attempt, l.seq, l.text]),
          [
            ['B', 0, 1, 'B1'],
            ['a', 0, 1, 'a1'],
            ['build', 0, 1, 'one\n'],
            ['build', 0, 2, 'two\n'],
            ['build', 1, 1, 'retry\n'],
            ['é', 0, 1, 'e1'],
          ],
        );
        assert.deepEqual(all[2], {
          stage: 'build',
          attempt: 0,
          seq: 1,
          step: null,
          stream: 'system',
          text: 'one\n',
        });
        assert.deepEqual(all[4], {
          stage: 'build',
          attempt: 1,
          seq: 1,
          step: 3,
          stream: 'stderr',
          text: 'retry\n',
        });
      }),
    );

    test(
      'a chunk stored again (same stage, attempt, seq) is ignored; the first copy is kept',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendLogs(run.id, 'build', 0, [log(1, 'first'), log(2, 'second')]);
        await s.appendLogs(run.id, 'build', 0, [
          log(2, 'second again'),
          log(3, 'third'),
          log(3, 'third again'),
        ]);
        await s.appendLogs(run.id, 'build', 0, []);
        assert.deepEqual(
          (await s.readLogs(run.id)).map((l) => [l.seq, l.text]),
          [
            [1, 'first'],
            [2, 'second'],
            [3, 'third'],
          ],
        );
        // The same seq in another attempt, stage or run is a different chunk.
        await s.appendLogs(run.id, 'build', 1, [log(1, 'attempt 1')]);
        await s.appendLogs(run.id, 'test', 0, [log(1, 'test')]);
        const other = await s.createRun(runInput());
        await s.appendLogs(other.id, 'build', 0, [log(1, 'other run')]);
        assert.equal((await s.readLogs(run.id)).length, 5);
        assert.deepEqual(
          (await s.readLogs(other.id)).map((l) => l.text),
          ['other run'],
        );
      }),
    );

    test(
      'readLogs filters by stage, attempt, afterSeq and limit',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.appendLogs(
          run.id,
          'build',
          0,
          Array.from({ length: 10 }, (_, i) => log(i + 1, `b${i + 1}`)),
        );
        await s.appendLogs(run.id, 'build', 1, [log(1, 'b-retry')]);
        await s.appendLogs(run.id, 'test', 0, [log(1, 't1'), log(2, 't2')]);
        const texts = async (o: Parameters<Store['readLogs']>[1]): Promise<string[]> =>
          (await s.readLogs(run.id, o)).map((l) => l.text);
        assert.deepEqual(await texts({ stage: 'test' }), ['t1', 't2']);
        assert.deepEqual(await texts({ stage: 'build', attempt: 1 }), ['b-retry']);
        assert.deepEqual(await texts({ attempt: 1 }), ['b-retry']);
        assert.deepEqual(await texts({ stage: 'build', attempt: 0, afterSeq: 7 }), [
          'b8',
          'b9',
          'b10',
        ]);
        assert.deepEqual(await texts({ stage: 'build', attempt: 0, afterSeq: 2, limit: 2 }), [
          'b3',
          'b4',
        ]);
        assert.deepEqual(await texts({ limit: 0 }), []);
        assert.equal((await texts({ limit: 100 })).length, 13);
        assert.deepEqual(await texts({ stage: 'deploy' }), []);
      }),
    );

    test(
      'log text round-trips exactly: NUL, control characters, emoji, long lines',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        const texts = [
          'nul\u0000inside',
          '\u001b[31mred\u001b[0m\r\n',
          'ünïcødé 🚀 漢字',
          'x'.repeat(200_000),
          '',
          '\\x00 \\\\ "quoted" {a,b} NULL',
        ];
        await s.appendLogs(
          run.id,
          'build',
          0,
          texts.map((t, i) => log(i + 1, t)),
        );
        assert.deepEqual(
          (await s.readLogs(run.id)).map((l) => l.text),
          texts,
        );
      }),
    );
  });

  describe('locks', () => {
    const holder = (
      runId: string,
      stage = 'deploy',
      owner = 'o1',
      lock = 'prod',
    ): { lock: string; runId: string; stage: string; owner: string } => ({
      lock,
      runId,
      stage,
      owner,
    });

    test(
      'a lock is held by the head of its FIFO queue',
      withStore(async (s) => {
        assert.equal(await s.lockHead('prod'), undefined);
        const a = await s.lockEnqueue(holder('1'));
        const b = await s.lockEnqueue(holder('2'));
        const c = await s.lockEnqueue(holder('3', 'deploy', 'o2'));
        assert.ok(a < b && b < c, 'places increase');
        assert.deepEqual(await s.lockHead('prod'), {
          id: a,
          lock: 'prod',
          runId: '1',
          stage: 'deploy',
          owner: 'o1',
        });
        // Enqueueing again keeps the original place.
        assert.equal(await s.lockEnqueue(holder('1')), a);
        assert.equal(await s.lockEnqueue(holder('2', 'deploy', 'another-owner')), b);
        // Releasing a waiter does not disturb the head.
        await s.lockRelease('prod', '2', 'deploy');
        assert.equal((await s.lockHead('prod'))?.runId, '1');
        await s.lockRelease('prod', '1', 'deploy');
        assert.deepEqual(await s.lockHead('prod'), {
          id: c,
          lock: 'prod',
          runId: '3',
          stage: 'deploy',
          owner: 'o2',
        });
        // Re-enqueueing after release goes to the back.
        const a2 = await s.lockEnqueue(holder('1'));
        assert.ok(a2 > c);
        await s.lockRelease('prod', '3', 'deploy');
        assert.equal((await s.lockHead('prod'))?.id, a2);
        await s.lockRelease('prod', '1', 'deploy');
        assert.equal(await s.lockHead('prod'), undefined);
        await s.lockRelease('prod', '1', 'deploy'); // releasing what is not held is harmless
      }),
    );

    test(
      'locks are independent; one run may queue two stages',
      withStore(async (s) => {
        await s.lockEnqueue(holder('1', 'deploy', 'o1', 'prod'));
        await s.lockEnqueue(holder('1', 'deploy', 'o1', 'staging'));
        await s.lockEnqueue(holder('1', 'migrate', 'o1', 'prod'));
        await s.lockEnqueue(holder('2', 'deploy', 'o1', 'staging'));
        assert.deepEqual(
          [(await s.lockHead('prod'))?.stage, (await s.lockHead('staging'))?.runId],
          ['deploy', '1'],
        );
        await s.lockRelease('staging', '1', 'deploy');
        assert.equal((await s.lockHead('prod'))?.stage, 'deploy');
        assert.equal((await s.lockHead('staging'))?.runId, '2');
        await s.lockRelease('prod', '1', 'deploy');
        assert.equal((await s.lockHead('prod'))?.stage, 'migrate');
      }),
    );

    test(
      'lockPurge drops the entries of dead owners only',
      withStore(async (s) => {
        await s.lockEnqueue(holder('1', 'deploy', 'dead'));
        const alive = await s.lockEnqueue(holder('2', 'deploy', 'alive'));
        await s.lockEnqueue(holder('3', 'deploy', 'dead', 'other'));
        await s.lockEnqueue(holder('4', 'deploy', 'dead2'));
        const asked: string[] = [];
        await s.lockPurge((owner) => {
          asked.push(owner);
          return owner === 'alive';
        });
        assert.deepEqual(asked.sort(), ['alive', 'dead', 'dead2']);
        assert.deepEqual(await s.lockHead('prod'), {
          id: alive,
          lock: 'prod',
          runId: '2',
          stage: 'deploy',
          owner: 'alive',
        });
        assert.equal(await s.lockHead('other'), undefined);
        await s.lockRelease('prod', '2', 'deploy');
        assert.equal(await s.lockHead('prod'), undefined, 'dead2 was purged too');
        await s.lockPurge(() => false); // an empty queue
      }),
    );

    test(
      'concurrent enqueues get distinct places served in order',
      withStore(async (s) => {
        const ids = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s.lockEnqueue(holder(String(i + 1)))),
        );
        assert.equal(new Set(ids).size, 20);
        const order: number[] = [];
        for (;;) {
          const head = await s.lockHead('prod');
          if (!head) break;
          order.push(head.id);
          await s.lockRelease('prod', head.runId, head.stage);
        }
        assert.deepEqual(
          order,
          ids.slice().sort((x, y) => x - y),
        );
      }),
    );
  });
}
