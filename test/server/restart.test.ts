// `otto serve` killed with SIGKILL in the middle of a run and started again on the same data
// directory and port: the agent keeps running its step, redelivers what the server had not
// acknowledged, and the run finishes with every numbered line in the log exactly once, in order.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Api,
  deferred,
  Env,
  readSse,
  sleep,
  stageOf,
  stopProc,
  waitFor,
} from './server-helpers.js';

const LINES = 60;

describe('a server restart in the middle of a run', { timeout: 120_000 }, () => {
  const cleanup = deferred();
  after(() => cleanup.run());
  let env: Env;

  before(async () => {
    env = await Env.create(cleanup);
    await env.startServer({ agentTimeoutS: 30 });
    await env.startAgent('steady-agent');
    // Idle through the restart: only it has the label the second run asks for.
    await env.startAgent('idle-agent', { labels: 'idle-only' });
  });

  it('SIGKILL and restart: the run finishes and the log holds every line exactly once, in order', async () => {
    const pids = env.pidFile('restart');
    const repo = env.repo('restart', {
      Ottofile: `pipeline {
  stage('Before') { steps { sh 'true' } }
  stage('Count') {
    steps { sh 'echo $$ >> ${pids}; i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done' }
  }
  stage('After') { steps { sh 'echo "after the restart"' } }
}
`,
    });
    await env.project('restart', repo);
    const operator = env.api('operator');
    let viewer: Api = env.api('viewer');
    const created = await operator.trigger('restart');
    const port = env.server.port;
    await waitFor(
      'ten lines in the log',
      async () =>
        ((await viewer.logs(created.id, 'Count')).match(/^line \d+$/gm) ?? []).length >= 10,
      15_000,
      50,
    );

    await stopProc(env.server.proc, 'SIGKILL');
    // Down for a moment while the step keeps printing.
    await sleep(700);
    await env.startServer({ port, agentTimeoutS: 30 });
    viewer = env.api('viewer');

    const run = await viewer.waitRun(created.id, undefined, 40_000);
    assert.equal(run.status, 'succeeded', `${JSON.stringify(run)}\n${env.dump()}`);
    assert.equal(stageOf(run, 'Count').attempt, 1, 'the step was not run again');
    assert.equal(stageOf(run, 'After').status, 'succeeded');
    const log = await viewer.logs(created.id, 'Count');
    const lines = log.split('\n').filter((l) => /^line \d+$/.test(l));
    assert.deepEqual(
      lines,
      Array.from({ length: LINES }, (_, i) => `line ${i + 1}`),
      `every line exactly once, in order:\n${log}`,
    );

    const events = await readSse(viewer, created.id, { timeoutMs: 5000, idleMs: 1500 });
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      Array.from({ length: events.length }, (_, i) => i + 1),
      'the event log is numbered 1..N without gaps after the restart',
    );
    assert.ok(
      events.some((e) => e.event === 'run.resumed'),
      'the restarted server resumed the run',
    );
    assert.equal(
      events.filter((e) => e.event === 'step.started' && e.data.data.stage === 'Count').length,
      1,
      'the step started once',
    );

    // The restarted server observed the two stages that ended in its time, not 'Before'.
    const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
    const counts = [...metrics.matchAll(/^otto_stage_duration_seconds_count\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(counts.reduce((a, b) => a + b, 0), 2, metrics);
  });

  it('an agent that was idle through the restart registers again and takes new work', async () => {
    const repo = env.repo('idle', {
      Ottofile: `pipeline {
  stage('Pinned') {
    runtime { computer { label = 'idle-only' } }
    steps { sh 'echo "on the idle agent"' }
  }
}
`,
    });
    await env.project('idle', repo);
    const created = await env.api('operator').trigger('idle');
    const run = await env.api('viewer').waitRun(created.id, undefined, 30_000);
    assert.equal(run.status, 'succeeded', `${JSON.stringify(run)}\n${env.dump()}`);
    assert.match(await env.api('viewer').logs(created.id, 'Pinned'), /on the idle agent/);
  });
});
