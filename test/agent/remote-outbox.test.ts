// The remote agent's outbox (numbering, batches, acks, spilling to disk, backpressure), its retry
// pacing, and its HTTP client's classification of failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent, LogChunk } from '../../src/protocol/agent.js';
import { AgentHttpClient, Backoff, Outbox } from '../../src/agent/remote/index.js';
import { tempDir } from './helpers.js';

function logs(jobId: string, seq: number, text: string): AgentEvent {
  const chunk: LogChunk = { seq, step: 1, stream: 'stdout', text };
  return { type: 'logs', jobId, chunks: [chunk] };
}

function parse(json: string): { eventSeq: number; event: AgentEvent } {
  return JSON.parse(json) as { eventSeq: number; event: AgentEvent };
}

test('events are numbered from 1, batched by size, resent until acknowledged, spilled to disk past the memory limit', async (t) => {
  const dir = await tempDir(t);
  const spill = join(dir, 'job.jsonl');
  const warnings: string[] = [];
  const box = new Outbox(spill, { batchBytes: 1000, memoryBytes: 3000, maxBytes: 1_000_000 }, (w) =>
    warnings.push(w),
  );
  box.add({ type: 'job-started', jobId: 'j', at: 1 });
  for (let i = 1; i <= 200; i++) box.add(logs('j', i, `line ${i} ${'x'.repeat(60)}\n`));
  box.add({
    type: 'job-finished',
    jobId: 'j',
    outcome: 'succeeded',
    message: '',
    durationMs: 5,
    lastSeq: 200,
    artifacts: [],
  });
  assert.equal(box.numbered, 202);
  assert.ok(
    existsSync(spill) && statSync(spill).size > 10_000,
    'most events went to the spill file',
  );
  assert.ok(box.bufferedBytes > 20_000);

  // The first batch is sent, the answer is lost: the same batch comes again.
  const first = box.batch()!;
  assert.equal(first.firstSeq, 1);
  assert.deepEqual(box.batch(), first);
  const received: number[] = [];
  let batches = 0;
  for (let b = box.batch(); b !== null; b = box.batch()) {
    batches++;
    const size = b.events.reduce((n, e) => n + Buffer.byteLength(e), 0);
    assert.ok(size <= 1000 || b.events.length === 1, `batch of ${size} bytes`);
    const numbered = b.events.map(parse);
    assert.deepEqual(
      numbered.map((e) => e.eventSeq),
      Array.from({ length: b.events.length }, (_, i) => b.firstSeq + i),
    );
    received.push(...numbered.map((e) => e.eventSeq));
    // The server stores only part of some batches: the rest comes again in the next one.
    const ack = batches % 3 === 0 ? b.firstSeq : b.lastSeq;
    if (batches % 3 === 0) received.splice(received.length - (b.lastSeq - b.firstSeq));
    box.ack(ack);
    box.ack(ack - 1); // a late, older ack changes nothing
  }
  assert.deepEqual(
    received,
    Array.from({ length: 202 }, (_, i) => i + 1),
  );
  assert.ok(batches > 20);
  assert.ok(box.complete);
  assert.equal(box.bufferedBytes, 0);
  assert.equal(statSync(spill).size, 0, 'the spill file is emptied once read back');
  box.dispose();
  assert.ok(!existsSync(spill));
  assert.deepEqual(warnings, []);
});

test('backpressure holds the job while too much is undelivered and releases it once delivery catches up', async (t) => {
  const dir = await tempDir(t);
  const box = new Outbox(
    join(dir, 's.jsonl'),
    { batchBytes: 500, memoryBytes: 1000, maxBytes: 4000 },
    () => undefined,
  );
  let i = 0;
  while (box.backpressure() === undefined) box.add(logs('j', ++i, `${'y'.repeat(100)}\n`));
  let released = false;
  const pause = box.backpressure()!.then(() => (released = true));
  box.ack(2);
  await Promise.resolve();
  assert.equal(released, false, 'still more than half the limit buffered');
  box.ack(i - 3);
  await pause;
  assert.equal(released, true);
  assert.equal(box.backpressure(), undefined);
  box.dispose();
});

test('backoff doubles with jitter up to its cap, and starts over after a success', () => {
  const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999);
  const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
  const highs = Array.from({ length: 7 }, () => high.next());
  const lows = Array.from({ length: 7 }, () => low.next());
  assert.deepEqual(lows, [50, 100, 200, 400, 500, 500, 500]);
  assert.deepEqual(highs, [100, 200, 400, 800, 1000, 1000, 1000]);
  low.reset();
  assert.equal(low.next(), 50);
});

test('the HTTP client classifies failures: unreachable and 5xx retry, 401 is fatal, 404 is unknown', async () => {
  const client = (status: number | Error, body = ''): AgentHttpClient =>
    new AgentHttpClient({
      server: new URL('http://example.invalid/prefix'),
      token: 'tok',
      userAgent: 'test',
      fetch: (async (url: URL, init: RequestInit) => {
        assert.equal(
          url.href,
          'http://example.invalid/prefix/api/v1/agent/jobs/run%2Fa%231/events',
        );
        assert.equal((init.headers as Record<string, string>).authorization, 'Bearer tok');
        if (status instanceof Error) throw status;
        return new Response(body, { status });
      }) as typeof fetch,
    });
  const kind = async (c: AgentHttpClient): Promise<string> => {
    try {
      await c.events('run/a#1', '{}', 1000);
      return 'ok';
    } catch (e) {
      return `${(e as { kind: string }).kind}: ${(e as Error).message}`;
    }
  };
  const refused = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });
  assert.equal(
    await kind(client(refused)),
    'unreachable: jobs/run%2Fa%231/events: connect ECONNREFUSED 127.0.0.1:1',
  );
  assert.match(await kind(client(503, 'busy')), /^server: .*HTTP 503: busy/);
  assert.match(
    await kind(client(401, '{"error":{"code":"unauthorized","message":"revoked"}}')),
    /^auth: the server refused the agent's token \(HTTP 401\): revoked/,
  );
  assert.match(await kind(client(404)), /^unknown: /);
  assert.match(await kind(client(400)), /^rejected: /);
  assert.match(await kind(client(200, '<html>')), /^server: .*not JSON/);
  assert.equal(await kind(client(200, '{"ack":1,"cancel":null}')), 'ok');
});
