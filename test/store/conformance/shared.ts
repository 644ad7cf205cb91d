// Conformance cases for two stores over the same storage (two processes or server replicas).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain } from '../../../src/store/index.js';
import { runInput, stage, ev, type WithStore } from './fixtures.js';

export function sharedCases(withStore: WithStore, skip: string | undefined): void {
  describe('two instances over the same storage', { skip }, () => {
    test(
      'appends with expectedLastSeq from both: exactly one wins each round',
      withStore(async (s, shared) => {
        const t = await shared();
        const run = await s.createRun(runInput());
        let expected = 0;
        for (let round = 0; round < 10; round++) {
          const results = await Promise.all(
            [s, t, s, t, s, t].map((store, i) =>
              store.appendEvents(
                run.id,
                [ev(`round ${round} writer ${i}`), ev('second')],
                expected,
                { run: { message: `writer ${i}` }, stages: [stage(`r${round}`, { attempt: i })] },
              ),
            ),
          );
          const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
          assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
          assert.ok(
            results.every((r) => r.lastSeq === expected + 2),
            `round ${round}: everyone sees the winner's seq`,
          );
          expected += 2;
          const run2 = await t.getRun(run.id);
          assert.equal(run2?.message, `writer ${winners[0]}`, "the winner's projection is applied");
        }
        assert.deepEqual(
          (await t.readEvents(run.id)).map((e) => e.seq),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.deepEqual(
          (await s.listStages(run.id)).map((x) => x.path),
          Array.from({ length: 10 }, (_, i) => `r${i}`),
        );
      }),
    );

    test(
      'audit appends from both make one chain',
      withStore(async (s, shared) => {
        const t = await shared();
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? s : t).appendAudit({
              at: i,
              actor: 'a',
              action: 'x',
              target: String(i),
              details: {},
            }),
          ),
        );
        const all = await t.listAudit();
        assert.equal(all.length, 40);
        assert.equal(verifyChain(all), undefined);
      }),
    );

    test(
      'a gate token is used once across both',
      withStore(async (s, shared) => {
        const t = await shared();
        await s.createGateToken('h', { runId: '1', stage: 'deploy', phase: 'exit', index: 0 }, 1);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? s : t).useGateToken('h', i)),
        );
        assert.equal(results.filter((r) => r.ok).length, 1);
      }),
    );

    test(
      'lock queue places from both are served in order',
      withStore(async (s, shared) => {
        const t = await shared();
        const ids = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? s : t).lockEnqueue({ lock: 'L', runId: String(i), stage: 'x', owner: 'o' }),
          ),
        );
        assert.equal((await t.lockHead('L'))?.id, Math.min(...ids));
        assert.equal((await s.lockHead('L'))?.id, Math.min(...ids));
      }),
    );
  });
}
