// The local agent: a child process speaking the agent protocol over stdio. The orchestrator never
// runs user code itself; if the child dies, its jobs are reported lost, never silently dropped.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { AgentCommand, AgentEvent, AgentMessage, StageJob } from '../protocol/agent.js';
import { missingRuntime, type AgentDispatcher } from './agents.js';
import type { PlanRuntime } from '../protocol/plan.js';

export interface LocalAgentOptions {
  /** The agent's entry script (dist/src/agent/main.js). */
  readonly agentMain: string;
}

export class LocalAgent implements AgentDispatcher {
  private readonly child: ChildProcess;
  private caps: string[] = ['local'];
  private readonly listeners: Array<(e: AgentEvent) => void> = [];
  private readonly lostListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly assignedListeners: Array<(jobId: string, agent: string) => void> = [];
  private readonly open = new Set<string>();
  private exited = false;
  private stderrTail = '';
  readonly ready: Promise<void>;

  constructor(options: LocalAgentOptions) {
    this.child = spawn(process.execPath, [options.agentMain], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-2000);
    });
    this.child.stdin?.on('error', () => {
      // The agent is gone; the exit handler reports its jobs as lost.
    });
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      let msg: AgentMessage;
      try {
        msg = JSON.parse(line) as AgentMessage;
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        this.caps = [...msg.capabilities];
        resolveReady();
        return;
      }
      if (msg.type === 'job-finished') this.open.delete(msg.jobId);
      for (const l of this.listeners) l(msg);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const reason = `the local agent exited (${signal ?? `code ${code ?? '?'}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').pop() ?? ''}` : ''}`;
      rejectReady(new Error(reason));
      // Let the readline drain what the agent wrote before it died, then report the rest lost.
      setImmediate(() => {
        for (const jobId of [...this.open]) {
          this.open.delete(jobId);
          for (const l of this.lostListeners) l(jobId, reason);
        }
      });
    });
  }

  capabilities(): readonly string[] {
    return this.caps;
  }

  refuse(runtime: PlanRuntime): string | undefined {
    return missingRuntime(runtime, this.caps);
  }

  private send(cmd: AgentCommand): void {
    if (this.exited) return;
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  dispatch(job: StageJob): void {
    this.open.add(job.jobId);
    if (this.exited) {
      setImmediate(() => {
        this.open.delete(job.jobId);
        for (const l of this.lostListeners) l(job.jobId, 'the local agent is not running');
      });
      return;
    }
    for (const l of this.assignedListeners) l(job.jobId, 'local');
    this.send({ type: 'run', job });
  }

  onAssigned(listener: (jobId: string, agent: string) => void): void {
    this.assignedListeners.push(listener);
  }

  cancel(jobId: string, reason: string): void {
    this.send({ type: 'cancel', jobId, reason });
  }

  onEvent(listener: (event: AgentEvent) => void): void {
    this.listeners.push(listener);
  }

  onLost(listener: (jobId: string, reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Asks the agent to finish (cancelling anything left) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.send({ type: 'shutdown' });
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
