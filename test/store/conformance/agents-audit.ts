// Conformance cases: agents, agent jobs and the hash-chained audit log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain, type Store } from '../../../src/store/index.js';
import { agent, type WithStore } from './fixtures.js';

export function agentAndAuditCases(withStore: WithStore): void {
  describe('agents', () => {
    test(
      'upsertAgent: a new name gets an id; the same name keeps id and registration time',
      withStore(async (s) => {
        const first = await s.upsertAgent(agent('builder-1', 100));
        assert.ok(first.id.length > 0);
        assert.deepEqual(first, {
          id: first.id,
          name: 'builder-1',
          labels: ['linux'],
          capabilities: ['sandbox'],
          maxJobs: 2,
          version: '0.1.0',
          registeredAt: 100,
          lastSeenAt: 100,
        });
        const again = await s.upsertAgent(
          agent('builder-1', 200, {
            labels: ['linux', 'gpu'],
            capabilities: [],
            maxJobs: 8,
            version: '0.2.0',
          }),
        );
        assert.deepEqual(again, {
          id: first.id,
          name: 'builder-1',
          labels: ['linux', 'gpu'],
          capabilities: [],
          maxJobs: 8,
          version: '0.2.0',
          registeredAt: 100,
          lastSeenAt: 200,
        });
        const other = await s.upsertAgent(agent('Builder-0', 150));
        assert.notEqual(other.id, first.id);
        assert.deepEqual(await s.listAgents(), [other, again]);
      }),
    );

    test(
      'touchAgent updates last seen; an unknown id is ignored',
      withStore(async (s) => {
        const a = await s.upsertAgent(agent('a', 100));
        await s.touchAgent(a.id, 500);
        await s.touchAgent('no-such-agent', 600);
        assert.deepEqual(await s.listAgents(), [{ ...a, lastSeenAt: 500 }]);
      }),
    );

    test(
      'concurrent registrations of one new name make one agent',
      withStore(async (s) => {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => s.upsertAgent(agent('racer', 100 + i))),
        );
        assert.equal(new Set(results.map((r) => r.id)).size, 1);
        const list = await s.listAgents();
        assert.equal(list.length, 1);
        assert.equal(list[0]?.id, results[0]?.id);
      }),
    );
  });

  describe('agent jobs', () => {
    const job = (
      jobId: string,
      over: Partial<Parameters<Store['createAgentJob']>[0]> = {},
    ): Parameters<Store['createAgentJob']>[0] => ({
      jobId,
      runId: '1',
      stage: 'build',
      attempt: 0,
      agentId: 'agent-a',
      assignedAt: 100,
      ...over,
    });

    test(
      'create and get; creating again is ignored',
      withStore(async (s) => {
        await s.createAgentJob(job('j1'));
        assert.deepEqual(await s.getAgentJob('j1'), {
          ...job('j1'),
          lastEventSeq: 0,
          finishedAt: null,
        });
        await s.createAgentJob(job('j1', { agentId: 'agent-b', attempt: 5 }));
        assert.equal((await s.getAgentJob('j1'))?.agentId, 'agent-a');
        assert.equal(await s.getAgentJob('nope'), undefined);
      }),
    );

    test(
      'setAgentJobSeq raises the last event seq and never lowers it',
      withStore(async (s) => {
        await s.createAgentJob(job('j1'));
        await s.setAgentJobSeq('j1', 5);
        assert.equal((await s.getAgentJob('j1'))?.lastEventSeq, 5);
        await s.setAgentJobSeq('j1', 3);
        assert.equal((await s.getAgentJob('j1'))?.lastEventSeq, 5);
        await s.setAgentJobSeq('j1', 9);
        await Promise.all([12, 7, 30, 1, 29].map((n) => s.setAgentJobSeq('j1', n)));
        assert.equal((await s.getAgentJob('j1'))?.lastEventSeq, 30);
        await s.setAgentJobSeq('nope', 3); // unknown job: nothing happens
      }),
    );

    test(
      'finishAgentJob records the first finish time only',
      withStore(async (s) => {
        await s.createAgentJob(job('j1'));
        await s.finishAgentJob('j1', 500);
        await s.finishAgentJob('j1', 600);
        assert.equal((await s.getAgentJob('j1'))?.finishedAt, 500);
        await s.finishAgentJob('nope', 1);
      }),
    );

    test(
      'listAgentJobs filters by agent, run and activity, ordered by assignment time',
      withStore(async (s) => {
        await s.createAgentJob(job('j3', { assignedAt: 300, agentId: 'agent-b', runId: '2' }));
        await s.createAgentJob(job('j1', { assignedAt: 100 }));
        await s.createAgentJob(job('j2', { assignedAt: 200, runId: '2' }));
        await s.finishAgentJob('j1', 400);
        const ids = async (f: Parameters<Store['listAgentJobs']>[0]): Promise<string[]> =>
          (await s.listAgentJobs(f)).map((j) => j.jobId);
        assert.deepEqual(await ids({}), ['j1', 'j2', 'j3']);
        assert.deepEqual(await ids({ agentId: 'agent-a' }), ['j1', 'j2']);
        assert.deepEqual(await ids({ runId: '2' }), ['j2', 'j3']);
        assert.deepEqual(await ids({ active: true }), ['j2', 'j3']);
        assert.deepEqual(await ids({ active: false }), ['j1']);
        assert.deepEqual(await ids({ agentId: 'agent-a', active: true, runId: '2' }), ['j2']);
        assert.deepEqual(await ids({ agentId: 'nobody' }), []);
        assert.deepEqual((await s.listAgentJobs({ active: false }))[0], {
          ...job('j1', { assignedAt: 100 }),
          lastEventSeq: 0,
          finishedAt: 400,
        });
      }),
    );
  });

  describe('audit', () => {
    const entry = (n: number): Parameters<Store['appendAudit']>[0] => ({
      at: 1000 + n,
      actor: `user-${n % 3}`,
      action: 'token.create',
      target: `token/${n}`,
      details: { n, role: 'admin', nested: { z: 1, a: [n] } },
    });

    test(
      'appendAudit chains records; listAudit pages them; verifyChain accepts them',
      withStore(async (s) => {
        assert.deepEqual(await s.listAudit(), []);
        const first = await s.appendAudit(entry(1));
        assert.deepEqual(first, { id: first.id, ...entry(1), prevHash: '', hash: first.hash });
        assert.match(first.hash, /^[0-9a-f]{64}$/);
        const second = await s.appendAudit(entry(2));
        assert.equal(second.prevHash, first.hash);
        assert.ok(second.id > first.id);
        for (let n = 3; n <= 6; n++) await s.appendAudit(entry(n));
        const all = await s.listAudit();
        assert.equal(all.length, 6);
        assert.deepEqual(all[0], first);
        assert.deepEqual(all[1], second);
        assert.equal(verifyChain(all), undefined);
        assert.deepEqual(await s.listAudit({ afterId: second.id, limit: 2 }), all.slice(2, 4));
        assert.deepEqual(await s.listAudit({ afterId: all[5]?.id ?? 0 }), []);
        assert.deepEqual(await s.listAudit({ limit: 1 }), [first]);
        // Changing a stored record's content is detected.
        const tampered = all.map((r, i) => (i === 3 ? { ...r, actor: 'mallory' } : r));
        assert.equal(verifyChain(tampered)?.id, all[3]?.id);
      }),
    );

    test(
      '50 concurrent appends make one unbroken chain',
      withStore(async (s) => {
        const made = await Promise.all(
          Array.from({ length: 50 }, (_, i) => s.appendAudit(entry(i))),
        );
        const all = await s.listAudit();
        assert.equal(all.length, 50);
        assert.equal(verifyChain(all), undefined);
        assert.equal(
          new Set(all.map((r) => r.prevHash)).size,
          50,
          'no two records share a predecessor',
        );
        assert.deepEqual(
          made.slice().sort((a, b) => a.id - b.id),
          all,
        );
      }),
    );
  });
}
