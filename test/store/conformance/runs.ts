// Conformance cases: runs (create, read, list, page, owner).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TRIGGER, PLAN, runInput, type WithStore } from './fixtures.js';

export function runCases(withStore: WithStore): void {
  describe('runs', () => {
    test(
      'createRun returns the stored record with defaults; getRun reads it back',
      withStore(async (s) => {
        const run = await s.createRun(runInput({ owner: '1@host', message: 'hello' }));
        assert.match(run.id, /^[1-9][0-9]*$/);
        assert.deepEqual(run, {
          id: run.id,
          project: 'web',
          pipeline: 'build',
          status: 'queued',
          planHash: '',
          trigger: TRIGGER,
          createdAt: 1_700_000_000_000,
          startedAt: null,
          finishedAt: null,
          owner: '1@host',
          lastSeq: 0,
          message: 'hello',
          rerunOf: null,
        });
        assert.deepEqual(await s.getRun(run.id), run);
        const rerun = await s.createRun(runInput({ rerunOf: run.id }));
        assert.equal(rerun.rerunOf, run.id);
        assert.equal(rerun.message, '');
        assert.ok(Number(rerun.id) > Number(run.id), 'run ids increase');
      }),
    );

    test(
      'unknown and malformed run ids read as absent',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        for (const id of [
          '999999',
          '0',
          '-1',
          'abc',
          '',
          `0${run.id}`,
          `${run.id}.0`,
          ' 1',
          '1e0',
          '99999999999999999999',
        ]) {
          assert.equal(await s.getRun(id), undefined, `getRun(${JSON.stringify(id)})`);
          assert.equal(await s.getPlan(id), undefined);
          assert.equal(await s.getDiagnostics(id), undefined);
          assert.deepEqual(await s.listStages(id), []);
          assert.deepEqual(await s.readEvents(id), []);
          assert.deepEqual(await s.readLogs(id), []);
        }
      }),
    );

    test(
      'plan and diagnostics round-trip exactly; absent ones read as undefined',
      withStore(async (s) => {
        const withPlan = await s.createRun(runInput({ plan: PLAN }));
        assert.equal(withPlan.planHash, PLAN.planHash);
        assert.deepEqual(await s.getPlan(withPlan.id), PLAN);
        // Key order survives too (a plan is hashed over its canonical JSON; keep it byte-exact anyway).
        assert.equal(JSON.stringify(await s.getPlan(withPlan.id)), JSON.stringify(PLAN));
        assert.equal(await s.getDiagnostics(withPlan.id), undefined);

        const diagnostics = [
          { code: 'E0101', message: 'unterminated string', span: { line: 1, col: 2 } },
        ];
        const invalid = await s.createRun(
          runInput({ status: 'invalid', diagnostics, message: 'the pipeline has errors' }),
        );
        assert.equal(invalid.planHash, '');
        assert.equal(await s.getPlan(invalid.id), undefined);
        assert.deepEqual(await s.getDiagnostics(invalid.id), diagnostics);
      }),
    );

    test(
      'listRuns: newest first, filters by project and status, default limit 50',
      withStore(async (s) => {
        const ids: string[] = [];
        for (let i = 0; i < 55; i++) {
          const r = await s.createRun(
            runInput({
              project: i % 2 ? 'api' : 'web',
              status: i % 3 === 0 ? 'succeeded' : 'queued',
              at: 1000 + i,
            }),
          );
          ids.push(r.id);
        }
        const all = await s.listRuns();
        assert.equal(all.length, 50);
        assert.deepEqual(
          all.map((r) => r.id),
          ids.slice().reverse().slice(0, 50),
        );
        assert.equal((await s.listRuns({ limit: 1000 })).length, 55);
        assert.deepEqual(
          (await s.listRuns({ limit: 3 })).map((r) => r.id),
          ids.slice(-3).reverse(),
        );
        assert.deepEqual(
          (await s.listRuns({ limit: 0 })).map((r) => r.id),
          [],
        );

        const api = await s.listRuns({ project: 'api', limit: 100 });
        assert.equal(api.length, 27);
        assert.ok(api.every((r) => r.project === 'api'));
        const done = await s.listRuns({ status: 'succeeded', limit: 100 });
        assert.equal(done.length, 19);
        assert.ok(done.every((r) => r.status === 'succeeded'));
        const both = await s.listRuns({ project: 'web', status: 'succeeded', limit: 100 });
        assert.deepEqual(
          both.map((r) => r.id),
          ids.filter((_, i) => i % 2 === 0 && i % 3 === 0).reverse(),
        );
        assert.deepEqual(await s.listRuns({ project: 'nope' }), []);
      }),
    );

    test(
      'listRuns pages with `before`',
      withStore(async (s) => {
        const ids: string[] = [];
        for (let i = 0; i < 12; i++)
          ids.push((await s.createRun(runInput({ project: i < 6 ? 'a' : 'b' }))).id);
        const seen: string[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await s.listRuns({
            limit: 5,
            ...(before !== undefined ? { before } : {}),
          });
          if (page.length === 0) break;
          seen.push(...page.map((r) => r.id));
          before = Number(page[page.length - 1]?.id);
        }
        assert.deepEqual(seen, ids.slice().reverse());
        const cut = Number(ids[8]);
        assert.deepEqual(
          (await s.listRuns({ before: cut, project: 'b' })).map((r) => r.id),
          ids.slice(6, 8).reverse(),
        );
        assert.deepEqual(await s.listRuns({ before: Number(ids[0]) }), []);
      }),
    );

    test(
      'setOwner sets and clears the owner',
      withStore(async (s) => {
        const run = await s.createRun(runInput());
        await s.setOwner(run.id, 'server-1');
        assert.equal((await s.getRun(run.id))?.owner, 'server-1');
        await s.setOwner(run.id, null);
        assert.equal((await s.getRun(run.id))?.owner, null);
        await s.setOwner('424242', 'x'); // unknown run: nothing happens
      }),
    );
  });
}
