// The local agent warms up with a job of its own after its hello (src/agent/warm-up.ts): nothing of
// it is reported to otto run, it leaves no workspace behind, and the first real job runs as usual.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LocalAgent } from '../../src/engine/local-agent.js';
import type { AgentEvent } from '../../src/protocol/agent.js';
import { buildFile } from '../../src/util/install.js';
import { job, runproc, sleep, tempDir } from './helpers.js';

const warmUpDirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('otto-warm-up-'));

test('the warm-up job is not reported and leaves nothing behind; the first job runs', { timeout: 30_000 }, async (t) => {
  const before = new Set(warmUpDirs());
  const agent = new LocalAgent({ agentMain: buildFile('agent/main.js') });
  t.after(() => agent.close());
  const events: AgentEvent[] = [];
  agent.onEvent((e) => void events.push(e));
  await agent.ready;
  await sleep(500); // the warm-up has run by now
  assert.equal(events.length, 0, 'nothing reported before a job is sent');
  assert.deepEqual(warmUpDirs().filter((d) => !before.has(d)), [], 'no warm-up workspace left');

  const workspace = await tempDir(t);
  agent.dispatch(job(workspace, [runproc(0, 'echo "first job"')], { jobId: 'r/first#1' }));
  for (let i = 0; i < 200 && !events.some((e) => e.type === 'job-finished'); i++) await sleep(25);
  assert.ok(events.every((e) => e.jobId === 'r/first#1'), 'only the real job is reported');
  const finished = events.find((e) => e.type === 'job-finished');
  assert.equal(finished?.type === 'job-finished' ? finished.outcome : '', 'succeeded');
  const text = events.flatMap((e) => (e.type === 'logs' ? e.chunks.map((c) => c.text) : [])).join('');
  assert.match(text, /first job/);
});
