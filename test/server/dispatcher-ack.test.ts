// The server acknowledges an agent's events only once the run has recorded them: the agent forgets
// what is acknowledged, so an ack that ran ahead of the store would lose log lines to a server kill.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteDispatcher } from '../../src/server/dispatcher.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { AgentEvent } from '../../src/protocol/agent.js';

const logs = (seq: number): AgentEvent => ({ type: 'logs', jobId: 'j1', chunks: [{ seq, step: 0, stream: 'stdout', text: `line ${seq}\n` }] });

async function withDispatcher(fn: (d: RemoteDispatcher, store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'otto-ack-'));
  const store = new SqliteStore(join(dir, 'otto.db'));
  const d = new RemoteDispatcher({ store, agentTimeoutMs: 60_000 });
  try {
    await store.createAgentJob({ jobId: 'j1', runId: '1', stage: 'build', attempt: 1, agentId: 'agent-a', assignedAt: 0 });
    await fn(d, store);
  } finally {
    await d.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('event acknowledgement', () => {
  it('waits for the listener to record the events before storing the ack', () =>
    withDispatcher(async (d, store) => {
      let record!: () => void;
      d.onEvent(() => new Promise<void>((resolve) => (record = resolve)));
      const delivered = d.deliver('agent-a', 'j1', [{ eventSeq: 1, event: logs(1) }]);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await store.getAgentJob('j1'))?.lastEventSeq, 0, 'not acknowledged while unrecorded');
      record();
      assert.deepEqual(await delivered, { ack: 1, cancel: null });
      assert.equal((await store.getAgentJob('j1'))?.lastEventSeq, 1);
    }));

  it('acknowledges nothing when recording fails, so the agent sends the events again', () =>
    withDispatcher(async (d, store) => {
      let fail = true;
      d.onEvent(async () => {
        if (fail) throw new Error('disk full');
      });
      await assert.rejects(d.deliver('agent-a', 'j1', [{ eventSeq: 1, event: logs(1) }]), /disk full/);
      assert.equal((await store.getAgentJob('j1'))?.lastEventSeq, 0);
      fail = false;
      assert.deepEqual(await d.deliver('agent-a', 'j1', [{ eventSeq: 1, event: logs(1) }, { eventSeq: 2, event: logs(2) }]), { ack: 2, cancel: null });
      assert.equal((await store.getAgentJob('j1'))?.lastEventSeq, 2);
    }));

  it('marks the last new event of a delivery, so the run records them together without waiting', () =>
    withDispatcher(async (d) => {
      const seen: Array<[number, boolean | undefined]> = [];
      d.onEvent((e, end) => {
        if (e.type === 'logs') seen.push([e.chunks[0]!.seq, end]);
      });
      await d.deliver('agent-a', 'j1', [{ eventSeq: 1, event: logs(1) }, { eventSeq: 2, event: logs(2) }, { eventSeq: 3, event: logs(3) }]);
      // 2 and 3 again (already acknowledged) and 4: only 4 is new, and it ends the delivery.
      await d.deliver('agent-a', 'j1', [{ eventSeq: 2, event: logs(2) }, { eventSeq: 3, event: logs(3) }, { eventSeq: 4, event: logs(4) }]);
      assert.deepEqual(seen, [[1, false], [2, false], [3, true], [4, true]]);
    }));
});
