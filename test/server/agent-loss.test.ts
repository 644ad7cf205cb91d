// Agents that die: an agent killed with SIGKILL in the middle of a stage is noticed after the
// heartbeat timeout (--agent-timeout 3) and the stage fails, or, with `retry = 1` and a second agent
// connected, runs again there and succeeds. And the other side: with the default timeout, a
// healthy agent's stages are never declared lost.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  type Api,
  deferred,
  dispatchedTo,
  ENDED,
  Env,
  killPidsIn,
  readSse,
  stageOf,
  stopProc,
  waitFor,
} from './server-helpers.js';

/** A step that records its pid and runs about 20 s unless killed. */
function hang(pids: string, label: string): string {
  return `echo $$ >> ${pids}; echo ${label}; i=0; while [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done`;
}

describe(
  'an agent killed in the middle of a stage (--agent-timeout 3)',
  { timeout: 120_000 },
  () => {
    const cleanup = deferred();
    after(() => cleanup.run());
    let env: Env;
    let operator: Api;
    let viewer: Api;

    before(async () => {
      env = await Env.create(cleanup);
      await env.startServer({ agentTimeoutS: 3 });
      operator = env.api('operator');
      viewer = env.api('viewer');
    });

    it('without a retry the stage fails once the heartbeat timeout has passed', async () => {
      const doomed = await env.startAgent('doomed-agent');
      const pids = env.pidFile('lost');
      const repo = env.repo('lost', {
        Ottofile: `pipeline {
  stage('Hang') { steps { sh '${hang(pids, 'started')}' } }
  stage('Later') { steps { sh 'echo later' } }
}
`,
      });
      await env.project('lost', repo);
      const created = await operator.trigger('lost');
      await waitFor(
        'the step to start',
        async () => /started/.test(await viewer.logs(created.id, 'Hang')),
        15_000,
        100,
      );

      await stopProc(doomed.proc, 'SIGKILL');
      const killedAt = Date.now();
      const run = await viewer.waitRun(created.id, undefined, 20_000);
      const took = Date.now() - killedAt;
      killPidsIn([pids]);
      assert.equal(run.status, 'failed', JSON.stringify(run));
      const hung = stageOf(run, 'Hang');
      assert.equal(hung.status, 'failed');
      assert.match(hung.message, /doomed-agent/, 'the message names the agent');
      assert.equal(stageOf(run, 'Later').status, 'skipped');
      assert.ok(took >= 2000, `not before the 3 s timeout (failed after ${took} ms)`);
      assert.ok(took <= 10_000, `soon after the 3 s timeout (failed after ${took} ms)`);
      const agents = (await viewer.get('/api/v1/agents')).json.agents as Array<{
        name: string;
        state: string;
      }>;
      assert.equal(agents.find((a) => a.name === 'doomed-agent')?.state, 'offline');
    });

    it('with retry = 1 and a second agent, the stage runs again on the other agent and succeeds', async () => {
      await Promise.all([env.startAgent('alpha-agent'), env.startAgent('beta-agent')]);
      const pids = env.pidFile('retry');
      const mark = env.scratch('retry-mark');
      const repo = env.repo('retry', {
        Ottofile: `pipeline {
  stage('Flaky') {
    retry = 1
    steps { sh 'if [ ! -e ${mark} ]; then touch ${mark}; ${hang(pids, 'first-attempt')}; else echo second-attempt; fi' }
  }
}
`,
      });
      await env.project('retry', repo);
      const created = await operator.trigger('retry');
      await waitFor(
        'the first attempt to start',
        async () => /first-attempt/.test(await viewer.logs(created.id, 'Flaky')),
        15_000,
        100,
      );
      const firstEvents = await readSse(viewer, created.id, { timeoutMs: 3000, idleMs: 500 });
      const [first] = dispatchedTo(firstEvents, 'Flaky');
      assert.ok(first === 'alpha-agent' || first === 'beta-agent', `dispatched to ${first}`);
      const victim = env.agents.find((a) => a.name === first)!;
      const survivor = first === 'alpha-agent' ? 'beta-agent' : 'alpha-agent';

      await stopProc(victim.proc, 'SIGKILL');
      const run = await viewer.waitRun(created.id, undefined, 25_000);
      killPidsIn([pids]);
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      const flaky = stageOf(run, 'Flaky');
      assert.equal(flaky.status, 'succeeded');
      assert.equal(flaky.attempt, 2);
      const events = await viewer.events(created.id);
      assert.deepEqual(
        dispatchedTo(events, 'Flaky'),
        [first, survivor],
        'attempt 1 on the killed agent, attempt 2 on the other',
      );
      const second = await viewer.get(`/api/v1/runs/${created.id}/stages/Flaky/logs?attempt=2`);
      assert.equal(second.status, 200);
      assert.match(second.text, /second-attempt/);
      assert.match(
        second.text,
        new RegExp(`agent-${survivor}/`),
        'the workspace of attempt 2 is on the survivor',
      );
      assert.ok(
        existsSync(mark) && readFileSync(pids, 'utf8').trim().split(/\s+/).length === 1,
        'the first attempt ran once',
      );
    });
  },
);

describe('the default --agent-timeout', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer(); // no --agent-timeout: the documented default is 30 s
  });

  it('is 30 s: a stage whose agent vanished is still running 2.5 s later', async () => {
    const agent = await env.startAgent('vanishing-agent');
    const pids = env.pidFile('default-timeout');
    const repo = env.repo('vanish', {
      Ottofile: `pipeline {\n  stage('Hang') { steps { sh '${hang(pids, 'started')}' } }\n}\n`,
    });
    await env.project('vanish', repo);
    const viewer = env.api('viewer');
    const created = await env.api('operator').trigger('vanish');
    // (With a far too short timeout the stage may be lost even before its step starts.)
    await waitFor(
      'the step to start, or the run to end',
      async () =>
        /started/.test(await viewer.logs(created.id, 'Hang')) ||
        ENDED.includes((await viewer.run(created.id)).status),
      15_000,
      100,
    );
    await stopProc(agent.proc, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2500));
    const run = await viewer.run(created.id);
    killPidsIn([pids]);
    assert.equal(
      stageOf(run, 'Hang').status,
      'running',
      `the agent is not given up on before 30 s: ${JSON.stringify(run)}`,
    );
    assert.equal(run.status, 'running');
  });
});
