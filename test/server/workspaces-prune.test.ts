// Agents remove the workspaces of finished runs the server says are no longer needed: with their
// heartbeat they name the runs they keep workspaces of, and the server answers with the finished
// ones beyond the newest OTTO_KEEP_WORKSPACES of each project. Real server, real agent, real runs.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Agent, deferred, Env, waitFor } from './server-helpers.js';

describe('workspaces on agents', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;
  let agent: Agent;

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30, env: { OTTO_KEEP_WORKSPACES: '1' } });
    agent = await env.startAgent('tidy-agent');
  });

  it('keeps the newest finished run of a project and removes the older ones', async () => {
    const repo = env.repo('tidy', {
      Ottofile: `pipeline {
  stage('Build') { steps { sh 'echo built > out.txt' } }
  stage('Test') { runtime { from 'Build' } steps { sh 'cat out.txt' } }
}
`,
    });
    await env.project('tidy', repo);
    const operator = env.api('operator');
    const viewer = env.api('viewer');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await operator.trigger('tidy');
      ids.push(created.id);
      assert.equal((await viewer.waitRun(created.id)).status, 'succeeded');
    }
    const runsDir = join(agent.workDir, 'runs');
    // Heartbeats come every 5 s. The agent logs a removal once the run's job records are gone too.
    const removed = (id: string): boolean =>
      new RegExp(`removed the workspaces of finished runs? (\\d+, )*${id}\\b`).test(agent.proc.stderr());
    await waitFor(
      `only run ${ids[2]}'s workspaces left in ${runsDir}, and runs ${ids[0]} and ${ids[1]} logged as removed`,
      () => readdirSync(runsDir).join(',') === ids[2] && removed(ids[0] as string) && removed(ids[1] as string),
      20_000,
      100,
    );
    assert.ok(existsSync(join(runsDir, ids[2] as string)));
    // The records of the removed runs' jobs went with them; the kept run's are there.
    const records = readdirSync(join(agent.workDir, 'jobs'));
    assert.equal(records.length, 2, `job records: ${records.join(', ')}`);
  });
});
