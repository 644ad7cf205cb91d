// The local agent process end to end: `node dist/src/agent/main.js` driven over its stdin/stdout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AgentCommand, AgentMessage } from '../../src/protocol/agent.js';
import { isAlive, job, readPid, runproc, tempDir } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/agent/main.js', import.meta.url));

class AgentProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: AgentMessage[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor() {
    this.child = spawn(process.execPath, [MAIN], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.messages.push(JSON.parse(line) as AgentMessage);
      for (const w of this.waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  send(command: AgentCommand | string): void {
    this.child.stdin.write(`${typeof command === 'string' ? command : JSON.stringify(command)}\n`);
  }

  /** Resolves with the first message matching `pred` (already received or future). */
  async waitFor<T extends AgentMessage>(
    pred: (m: AgentMessage) => m is T,
    timeoutMs = 8000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const got = this.messages.map((m) => m.type).join(',');
        throw new Error(`timed out; got ${got}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.waiters = [];
    }
  }
}

const finishedFor =
  (jobId: string) =>
  (m: AgentMessage): m is Extract<AgentMessage, { type: 'job-finished' }> =>
    m.type === 'job-finished' && m.jobId === jobId;

test('hello, bad lines survived, concurrent jobs, cancel one, shutdown cancels the rest and exits', async (t) => {
  const ws = await tempDir(t);
  const agent = new AgentProcess();
  t.after(() => agent.child.kill('SIGKILL'));
  const hello = await agent.waitFor(
    (m): m is Extract<AgentMessage, { type: 'hello' }> => m.type === 'hello',
  );
  assert.equal(agent.messages[0], hello);
  assert.equal(hello.protocol, 1);
  assert.ok(hello.capabilities.includes('local'));
  assert.equal(hello.pid, agent.child.pid);

  agent.send('this is not json');
  agent.send('{"type":"launch"}');
  agent.send({
    type: 'run',
    job: job(ws, [runproc(0, `sleep 30 & echo $! > ${ws}/b; sleep 30`)], { jobId: 'B' }),
  });
  agent.send({ type: 'run', job: job(ws, [runproc(0, 'sleep 30')], { jobId: 'C' }) });
  agent.send({ type: 'run', job: job(ws, [runproc(0, 'echo hello from A')], { jobId: 'A' }) });

  const a = await agent.waitFor(finishedFor('A'));
  assert.equal(a.outcome, 'succeeded');
  const aLogs = agent.messages.flatMap((m) =>
    m.type === 'logs' && m.jobId === 'A' ? m.chunks : [],
  );
  assert.equal(
    aLogs
      .filter((c) => c.step === 0)
      .map((c) => c.text)
      .join(''),
    'hello from A\n',
  );
  assert.equal(a.lastSeq, aLogs.length);

  agent.send({ type: 'cancel', jobId: 'B', reason: 'not needed any more' });
  const b = await agent.waitFor(finishedFor('B'));
  assert.equal(b.outcome, 'cancelled');
  assert.match(b.message, /not needed any more/);
  assert.equal(isAlive(await readPid(join(ws, 'b'))), false);
  assert.equal(agent.messages.some(finishedFor('C')), false, 'C was cancelled too');

  agent.send({ type: 'shutdown' });
  const c = await agent.waitFor(finishedFor('C'));
  assert.equal(c.outcome, 'cancelled');
  assert.equal(await agent.exited, 0);
  assert.match(agent.stderr, /not JSON/);
  assert.match(agent.stderr, /unknown type "launch"/);
});

test('stdin EOF cancels running jobs and the agent exits after reporting them', async (t) => {
  const ws = await tempDir(t);
  const agent = new AgentProcess();
  t.after(() => agent.child.kill('SIGKILL'));
  agent.send({ type: 'run', job: job(ws, [runproc(0, 'echo started; sleep 30')], { jobId: 'J' }) });
  await agent.waitFor((m): m is AgentMessage => m.type === 'step-started');
  agent.child.stdin.end();
  const f = await agent.waitFor(finishedFor('J'));
  assert.equal(f.outcome, 'cancelled');
  assert.equal(await agent.exited, 0);
});

test('30 MB of logs through a slow reader: nothing lost, seq contiguous', async (t) => {
  const ws = await tempDir(t);
  const agent = new AgentProcess();
  t.after(() => agent.child.kill('SIGKILL'));
  // Read slowly for a while so the agent's stdout fills and it has to wait for 'drain'.
  let paused = 0;
  const slow = setInterval(() => {
    if (paused++ % 2 === 0) agent.child.stdout.pause();
    else agent.child.stdout.resume();
  }, 50);
  t.after(() => clearInterval(slow));
  agent.send({
    type: 'run',
    job: job(ws, [runproc(0, 'yes 0123456789 | head -c 30000000')], { jobId: 'F' }),
  });
  const f = await agent.waitFor(finishedFor('F'), 30_000);
  clearInterval(slow);
  agent.child.stdout.resume();
  assert.equal(f.outcome, 'succeeded', f.message);
  const chunks = agent.messages.flatMap((m) => (m.type === 'logs' ? m.chunks : []));
  assert.deepEqual(
    chunks.map((c) => c.seq),
    chunks.map((_, i) => i + 1),
  );
  assert.equal(f.lastSeq, chunks.length);
  const out = chunks.filter((c) => c.step === 0).map((c) => c.text);
  assert.equal(
    out.reduce((n, t) => n + t.length, 0),
    30_000_000,
  );
  assert.ok(out.join('').startsWith('0123456789\n0123456789\n'));
  agent.send({ type: 'shutdown' });
  assert.equal(await agent.exited, 0);
});
