// Framed logs between the stdio agent and `otto run` (src/protocol/agent.ts): what the agent's writer
// frames, the orchestrator's reader gives back exactly, however the bytes are split by the pipe.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { JsonLineWriter } from '../../src/agent/json-lines.js';
import { MessageReader } from '../../src/engine/local-agent.js';
import type { AgentEvent, AgentMessage } from '../../src/protocol/agent.js';

/** Everything written, as one buffer. */
function sink(): { out: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk));
      done();
    },
  });
  return { out, bytes: () => Buffer.concat(parts) };
}

const messages: AgentEvent[] = [
  { type: 'job-started', jobId: 'j', at: 1 },
  {
    type: 'logs',
    jobId: 'j',
    chunks: [
      { seq: 1, step: 0, stream: 'stdout', text: 'plain\n' },
      { seq: 2, step: 0, stream: 'stderr', text: 'ünïcødé 🚀 漢字\n{"type":"hello"}\n' },
      { seq: 3, step: null, stream: 'system', text: '' },
      { seq: 4, step: 1, stream: 'stdout', text: 'nul\u0000\r\n\u001b[31mred\u001b[0m' },
    ],
  },
  {
    type: 'step-finished',
    jobId: 'j',
    step: 0,
    status: 'succeeded',
    exitCode: 0,
    signal: null,
    durationMs: 3,
    message: 'line\nbreak',
  },
  {
    type: 'logs',
    jobId: 'j',
    chunks: [{ seq: 5, step: 1, stream: 'stdout', text: `${'0123456789\n'.repeat(20_000)}` }],
  },
  { type: 'logs', jobId: 'j', chunks: [] },
  {
    type: 'job-finished',
    jobId: 'j',
    outcome: 'succeeded',
    message: '',
    durationMs: 9,
    lastSeq: 5,
    artifacts: [],
  },
];

function writeAll(): Buffer {
  const { out, bytes } = sink();
  const w = new JsonLineWriter(out);
  for (const m of messages) {
    if (m.type === 'logs') w.writeLogsFrame(m);
    else w.write(m);
  }
  return bytes();
}

test('framed logs: the reader gives back every message, in order, split anywhere', () => {
  const wire = writeAll();
  // The log text is on the wire as raw bytes, not JSON-escaped.
  assert.ok(wire.includes(Buffer.from('ünïcødé 🚀 漢字\n{"type":"hello"}\n')));
  for (const size of [1, 2, 3, 7, 64, 4096, 65_536, wire.length]) {
    const got: AgentMessage[] = [];
    const reader = new MessageReader((m) => got.push(m));
    for (let at = 0; at < wire.length; at += size) reader.push(wire.subarray(at, at + size));
    assert.deepEqual(got, messages, `split every ${size} bytes`);
  }
});

test('framed logs: JSON lines without frames (an agent started without --frames) are read as before', () => {
  const wire = Buffer.from(`${messages.map((m) => JSON.stringify(m)).join('\n')}\nnot json\n`);
  const got: AgentMessage[] = [];
  const reader = new MessageReader((m) => got.push(m));
  for (let at = 0; at < wire.length; at += 5) reader.push(wire.subarray(at, at + 5));
  assert.deepEqual(got, messages);
});
