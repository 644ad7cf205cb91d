// Log batching: seq numbering, line-boundary chunks, the size cap, and the flush interval.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogBatcher } from '../../src/agent/log-batcher.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textBytes, writtenSlice, type AgentEvent, type LogChunk } from '../../src/protocol/agent.js';
import { sleep } from './helpers.js';

function collect(): { events: AgentEvent[]; chunks: () => LogChunk[] } {
  const events: AgentEvent[] = [];
  return { events, chunks: () => events.flatMap((e) => (e.type === 'logs' ? e.chunks : [])) };
}

test('seq starts at 1 and rises by one per chunk across batches', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { batchBytes: 100 });
  for (let i = 0; i < 50; i++)
    b.write(i % 3 === 0 ? null : 1, i % 2 === 0 ? 'stdout' : 'stderr', `line ${i}\n`);
  b.flush();
  const seqs = c.chunks().map((x) => x.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
  );
  assert.equal(b.lastSeq, seqs.length);
  assert.ok(c.events.length > 1, 'expected several batches');
  assert.ok(c.events.every((e) => e.type === 'logs' && e.jobId === 'j'));
});

test('consecutive writes to one stream share a chunk; a different stream starts a new one', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e));
  b.write(0, 'stdout', 'a\n');
  b.write(0, 'stdout', 'b\n');
  b.write(0, 'stderr', 'oops\n');
  b.write(0, 'stdout', 'c\n');
  b.flush();
  assert.deepEqual(
    c.chunks().map((x) => [x.stream, x.text]),
    [
      ['stdout', 'a\nb\n'],
      ['stderr', 'oops\n'],
      ['stdout', 'c\n'],
    ],
  );
});

test('a size-triggered batch ends on a line boundary and keeps the partial line', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { batchBytes: 20, intervalMs: 10_000 });
  b.write(0, 'stdout', 'first line\nsecond li');
  b.write(0, 'stdout', 'ne\n');
  b.flush();
  assert.deepEqual(
    c.chunks().map((x) => x.text),
    ['first line\n', 'second line\n'],
  );
});

test('a huge line without a newline is cut at the chunk cap, and never inside a UTF-8 character', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { batchBytes: 64, maxChunkBytes: 100 });
  const text = `${'x'.repeat(99)}😀${'y'.repeat(250)}`;
  b.write(0, 'stdout', text);
  b.flush();
  const chunks = c.chunks();
  assert.ok(chunks.every((x) => Buffer.byteLength(x.text) <= 100));
  assert.equal(chunks[0]!.text, 'x'.repeat(99));
  assert.equal(chunks.map((x) => x.text).join(''), text);
});

test('pending output is sent after the interval without an explicit flush', async () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { intervalMs: 20 });
  b.write(null, 'system', 'waiting for input: ');
  assert.equal(c.events.length, 0);
  await sleep(80);
  assert.deepEqual(
    c.chunks().map((x) => x.text),
    ['waiting for input: '],
  );
});

test('a flush with nothing pending sends nothing', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e));
  b.flush();
  b.write(0, 'stdout', '');
  b.flush();
  assert.equal(c.events.length, 0);
  assert.equal(b.lastSeq, 0);
});

test('a character whose bytes arrive in two writes is never split between chunks', async () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { intervalMs: 10 });
  const euro = Buffer.from('price: €5\n');
  const at = euro.indexOf(0xe2) + 1; // inside the three bytes of €
  b.write(0, 'stdout', euro.subarray(0, at));
  await sleep(50); // the interval passes with the character incomplete
  b.write(0, 'stdout', euro.subarray(at));
  b.flush();
  const texts = c.chunks().map((x) => x.text);
  assert.deepEqual(texts, ['price: ', '€5\n']);
});

test('output bytes are passed on as they came, even when they are not UTF-8', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e));
  const bytes = Buffer.from([0x61, 0xff, 0xfe, 0x0a, 0xc3]);
  b.write(0, 'stdout', bytes);
  b.flush();
  const chunks = c.chunks();
  assert.deepEqual(Buffer.concat(chunks.map((x) => textBytes(x)!)), bytes);
  assert.equal(chunks.map((x) => x.text).join(''), 'a\ufffd\ufffd\n\ufffd');
});

test('big writes pass through as views of the output, whole lines only, each line once', () => {
  const c = collect();
  const b = new LogBatcher('j', (e) => c.events.push(e), { intervalMs: 10_000 });
  const line = (i: number): string => `line ${String(i).padStart(6, '0')}\n`;
  const all = Array.from({ length: 40_000 }, (_, i) => line(i)).join('');
  // 64 KiB writes, as a busy step's pipe delivers them: lines straddle the writes.
  for (let at = 0; at < all.length; at += 65_536) b.write(0, 'stdout', Buffer.from(all.slice(at, at + 65_536)));
  b.flush();
  const chunks = c.chunks();
  assert.equal(chunks.map((x) => x.text).join(''), all);
  assert.ok(chunks.every((x) => x.text.endsWith('\n')), 'every chunk ends a line');
  assert.ok(chunks.every((x) => Buffer.byteLength(x.text) <= 256 * 1024));
});

test('with a file, each batch is written there before its event, and the chunks say where (no bytes carried)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otto-batcher-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'run', 'Build.1.log');
  // A killed writer left bytes past the store's index (offset 4): they are overwritten, not appended to.
  mkdirSync(join(dir, 'run'));
  writeFileSync(path, 'old:stale bytes past the index');
  const c = collect();
  const b = new LogBatcher('j', (e) => {
    // The event comes after its bytes are in the file.
    for (const x of e.type === 'logs' ? e.chunks : []) {
      const s = writtenSlice(x);
      assert.ok(s, 'a written slice');
      assert.equal(readFileSync(path).subarray(s.offset, s.offset + s.length).toString(), x.text);
    }
    c.events.push(e);
  }, { file: { path, offset: 4 }, batchBytes: 16 });
  b.write(0, 'stdout', 'line one\nline two\n');
  b.write(null, 'system', 'agent line\n');
  b.write(0, 'stdout', 'last, unfinished');
  b.close();
  const chunks = c.chunks();
  assert.ok(chunks.every((x) => textBytes(x) === undefined && writtenSlice(x)?.path === path));
  assert.equal(chunks.map((x) => x.text).join(''), 'line one\nline two\nagent line\nlast, unfinished');
  assert.equal(writtenSlice(chunks[0]!)?.offset, 4);
  assert.equal(readFileSync(path, 'utf8').slice(0, 4 + 'line one\nline two\nagent line\nlast, unfinished'.length), 'old:line one\nline two\nagent line\nlast, unfinished');
});
