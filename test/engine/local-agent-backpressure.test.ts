// `otto run` reads its agent's output only as fast as the store records it: while too many log bytes
// are unrecorded, reading stops, the agent waits on its pipe and its step on its own; nothing is lost.
// A real agent process and a real flooding step; the "store" is a listener that records when told.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalAgent } from '../../src/engine/local-agent.js';
import { textBytes, type AgentEvent } from '../../src/protocol/agent.js';
import { buildFile } from '../../src/util/install.js';
import { job, runproc, sleep, tempDir } from '../agent/helpers.js';

const TOTAL = 48 * 1024 * 1024;

test('a slow store holds the agent back instead of buffering its output, and loses nothing', { timeout: 60_000 }, async (t) => {
  const workspace = await tempDir(t);
  const agent = new LocalAgent({ agentMain: buildFile('agent/main.js'), unrecordedHigh: 2 * 1024 * 1024, unrecordedLow: 512 * 1024 });
  t.after(() => agent.close());
  await agent.ready;

  let received = 0;
  let release!: () => void;
  let store = new Promise<void>((resolve) => (release = resolve));
  const state: { finished?: AgentEvent } = {};
  agent.onEvent((e) => {
    if (e.type === 'job-finished') state.finished = e;
    if (e.type !== 'logs') return undefined;
    for (const c of e.chunks) if (c.step === 0) received += textBytes(c)?.length ?? Buffer.byteLength(c.text);
    return store; // recorded when the test says so
  });
  agent.dispatch(job(workspace, [runproc(0, `head -c ${TOTAL} /dev/zero | tr '\\0' x`)], { jobId: 'r/flood#1' }));

  // The store records nothing: reading stops a little past the high mark.
  await waitFor(() => agent.waitingForStore, 20_000);
  await sleep(500);
  const held = received;
  await sleep(500);
  assert.equal(received, held, 'nothing more is read while the store is behind');
  assert.ok(held < 16 * 1024 * 1024, `read ${held} bytes while the store recorded none`);
  assert.equal(state.finished, undefined, 'the step is held back too');

  // The store catches up and keeps up: everything arrives, and the job finishes.
  release();
  store = Promise.resolve();
  await waitFor(() => state.finished !== undefined, 40_000);
  assert.equal(received, TOTAL);
  const end = state.finished as AgentEvent | undefined; // narrowed to undefined by the assert above
  assert.equal(end?.type === 'job-finished' ? end.outcome : '', 'succeeded');
  assert.equal(agent.waitingForStore, false);
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await sleep(20);
  }
}
