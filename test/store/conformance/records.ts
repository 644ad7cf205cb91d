// Conformance cases: secrets, deployments, gate tokens, projects and API tokens.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Store } from '../../../src/store/index.js';
import { type WithStore } from './fixtures.js';

export function recordCases(withStore: WithStore): void {
  describe('secrets', () => {
    test(
      'put, get, overwrite, list and delete, scoped by project and environment',
      withStore(async (s) => {
        await s.putSecret('web', '', 'TOKEN', 'sealed-all', 1);
        await s.putSecret('web', 'prod', 'TOKEN', 'sealed-prod', 2);
        await s.putSecret('web', 'prod', 'DB', 'sealed-db', 3);
        await s.putSecret('api', 'prod', 'TOKEN', 'sealed-api', 4);
        assert.equal(await s.getSecret('web', '', 'TOKEN'), 'sealed-all');
        assert.equal(await s.getSecret('web', 'prod', 'TOKEN'), 'sealed-prod');
        assert.equal(await s.getSecret('api', 'prod', 'TOKEN'), 'sealed-api');
        // No fallback between scopes: that is the caller's policy.
        assert.equal(await s.getSecret('web', 'staging', 'TOKEN'), undefined);
        assert.equal(await s.getSecret('api', '', 'TOKEN'), undefined);
        assert.equal(
          await s.getSecret('web', 'prod', 'token'),
          undefined,
          'names are case-sensitive',
        );

        await s.putSecret('web', 'prod', 'TOKEN', 'sealed-prod-2', 10);
        assert.equal(await s.getSecret('web', 'prod', 'TOKEN'), 'sealed-prod-2');
        await s.putSecret('web', 'prod', 'a_lower', 'x', 11);
        assert.deepEqual(await s.listSecrets('web'), [
          { environment: 'prod', name: 'DB', updatedAt: 3 },
          { environment: '', name: 'TOKEN', updatedAt: 1 },
          { environment: 'prod', name: 'TOKEN', updatedAt: 10 },
          { environment: 'prod', name: 'a_lower', updatedAt: 11 },
        ]);
        assert.deepEqual(await s.listSecrets('nope'), []);

        assert.equal(await s.deleteSecret('web', 'prod', 'TOKEN'), true);
        assert.equal(await s.deleteSecret('web', 'prod', 'TOKEN'), false);
        assert.equal(await s.getSecret('web', 'prod', 'TOKEN'), undefined);
        assert.equal(await s.getSecret('web', '', 'TOKEN'), 'sealed-all');
        assert.equal(await s.deleteSecret('nope', '', 'X'), false);
      }),
    );
  });

  describe('deployments', () => {
    const dep = (
      project: string,
      environment: string,
      n: number,
    ): Parameters<Store['recordDeployment']>[0] => ({
      project,
      environment,
      runId: String(n),
      stage: 'deploy',
      sha: `sha${n}`,
      branch: 'main',
      status: n % 4 === 0 ? 'failed' : 'succeeded',
      at: 1000 + n,
      startedAt: n % 2 ? 900 + n : null,
    });

    test(
      'recordDeployment returns the record with its id; listDeployments newest first with filters',
      withStore(async (s) => {
        const first = await s.recordDeployment(dep('web', 'prod', 1));
        assert.deepEqual(first, { ...dep('web', 'prod', 1), id: first.id });
        const recorded = [first];
        for (let n = 2; n <= 8; n++)
          recorded.push(
            await s.recordDeployment(dep(n % 2 ? 'web' : 'api', n % 3 ? 'prod' : 'staging', n)),
          );
        assert.ok(
          recorded.every((d, i) => i === 0 || d.id > (recorded[i - 1]?.id ?? Infinity)),
          'ids increase',
        );
        assert.deepEqual(await s.listDeployments(), recorded.slice().reverse());
        assert.deepEqual(
          await s.listDeployments({ project: 'web' }),
          recorded.filter((d) => d.project === 'web').reverse(),
        );
        assert.deepEqual(
          await s.listDeployments({ environment: 'staging' }),
          recorded.filter((d) => d.environment === 'staging').reverse(),
        );
        assert.deepEqual(
          await s.listDeployments({ project: 'api', environment: 'prod' }),
          recorded.filter((d) => d.project === 'api' && d.environment === 'prod').reverse(),
        );
        assert.deepEqual(await s.listDeployments({ limit: 2 }), recorded.slice(-2).reverse());
        assert.deepEqual(await s.listDeployments({ project: 'nope' }), []);
      }),
    );

    test(
      'listDeployments returns at most 100 by default',
      withStore(async (s) => {
        for (let n = 1; n <= 105; n++) await s.recordDeployment(dep('web', 'prod', n));
        const list = await s.listDeployments();
        assert.equal(list.length, 100);
        assert.equal(list[0]?.runId, '105');
        assert.equal(list[99]?.runId, '6');
        assert.equal((await s.listDeployments({ limit: 500 })).length, 105);
      }),
    );
  });

  describe('gate tokens', () => {
    const gate = { runId: '7', stage: 'deploy', phase: 'enter' as const, index: 1 };

    test(
      'a token is used once; an unknown token is refused',
      withStore(async (s) => {
        assert.deepEqual(await s.useGateToken('nope', 1), { ok: false, reason: 'unknown' });
        await s.createGateToken('h1', gate, 1);
        await s.createGateToken('h2', { ...gate, phase: 'exit', index: 0 }, 1);
        assert.deepEqual(await s.useGateToken('h1', 2), { ok: true, gate });
        assert.deepEqual(await s.useGateToken('h1', 3), { ok: false, reason: 'used' });
        // Creating it again neither replaces nor revives it.
        await s.createGateToken('h1', { ...gate, stage: 'other' }, 4);
        assert.deepEqual(await s.useGateToken('h1', 5), { ok: false, reason: 'used' });
        assert.deepEqual(await s.useGateToken('h2', 6), {
          ok: true,
          gate: { ...gate, phase: 'exit', index: 0 },
        });
      }),
    );

    test(
      '10 parallel uses of one token: exactly one succeeds',
      withStore(async (s) => {
        await s.createGateToken('h', gate, 1);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => s.useGateToken('h', 10 + i)),
        );
        assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
        assert.ok(results.every((r) => r.ok || r.reason === 'used'));
      }),
    );

    test(
      'a token re-created before first use keeps its first gate',
      withStore(async (s) => {
        await s.createGateToken('h', gate, 1);
        await s.createGateToken('h', { ...gate, stage: 'other' }, 2);
        assert.deepEqual(await s.useGateToken('h', 3), { ok: true, gate });
      }),
    );
  });

  describe('projects', () => {
    const project = (name: string): Parameters<Store['createProject']>[0] => ({
      name,
      repo: `https://git.example.com/${name}.git`,
      pipeline: 'Ottofile',
      defaultBranch: 'main',
      webhookSecret: name === 'web' ? 'sealed' : '',
      createdAt: 100,
    });

    test(
      'create, get and list (by name); a duplicate name is refused',
      withStore(async (s) => {
        assert.deepEqual(await s.listProjects(), []);
        for (const n of ['web', 'Api', 'api', 'zed']) await s.createProject(project(n));
        assert.deepEqual(await s.getProject('web'), project('web'));
        assert.equal(await s.getProject('WEB'), undefined);
        assert.equal(await s.getProject('nope'), undefined);
        assert.deepEqual(
          (await s.listProjects()).map((p) => p.name),
          ['Api', 'api', 'web', 'zed'],
        );
        await assert.rejects(s.createProject({ ...project('web'), repo: 'other' }));
        assert.equal((await s.getProject('web'))?.repo, project('web').repo);
      }),
    );
  });

  describe('tokens', () => {
    test(
      'create, find by hash, list, revoke once; a duplicate hash is refused',
      withStore(async (s) => {
        const a = await s.createToken({ name: 'ci', role: 'operator', hash: 'hash-a', at: 10 });
        const b = await s.createToken({ name: 'agent-1', role: 'agent', hash: 'hash-b', at: 11 });
        assert.deepEqual(a, {
          id: a.id,
          name: 'ci',
          role: 'operator',
          createdAt: 10,
          revokedAt: null,
        });
        assert.ok(b.id > a.id);
        assert.deepEqual(await s.findToken('hash-a'), a);
        assert.equal(await s.findToken('hash-c'), undefined);
        assert.deepEqual(await s.listTokens(), [a, b]);
        assert.equal(await s.revokeToken(a.id, 20), true);
        assert.equal(await s.revokeToken(a.id, 30), false, 'already revoked');
        assert.equal(await s.revokeToken(999_999, 30), false);
        assert.deepEqual(await s.findToken('hash-a'), { ...a, revokedAt: 20 });
        assert.deepEqual(await s.listTokens(), [{ ...a, revokedAt: 20 }, b]);
        await assert.rejects(
          s.createToken({ name: 'again', role: 'admin', hash: 'hash-b', at: 12 }),
        );
        assert.equal((await s.listTokens()).length, 2);
      }),
    );
  });
}
