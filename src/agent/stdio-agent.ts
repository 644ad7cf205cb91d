// The local agent: AgentCommand JSON lines in, a hello and then AgentEvent JSON lines out (log
// chunks framed as raw bytes when the orchestrator asks for it; see src/protocol/agent.ts).

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentCommand,
  type AgentEvent,
  type AgentMessage,
  type StageJob,
} from '../protocol/agent.js';
import { JsonLineWriter } from './json-lines.js';
import type { ObjectOps } from './object-ops.js';
import { runJob } from './runner.js';

export interface StdioAgentOptions {
  readonly input: Readable;
  readonly output: Writable;
  /** Problems that are nobody's event (a bad command line): one line each, for stderr. */
  readonly warn: (line: string) => void;
  readonly objects?: ObjectOps;
  /** Default: detectCapabilities(). */
  readonly capabilities?: readonly string[];
  /**
   * Send 'logs' events as frames (a header line and raw bytes) instead of JSON lines, and let the
   * reports of steps and their logs wait up to REPORT_COALESCE_MS to share a write (a job's end and
   * anything at shutdown are written at once). What `otto run` asks for with `--frames`.
   */
  readonly frames?: boolean;
}

/** See StdioAgentOptions.frames. */
const REPORT_COALESCE_MS = 5;

/** 'local' always; 'sandbox' when bubblewrap is on PATH. */
export function detectCapabilities(path = process.env.PATH ?? ''): string[] {
  const caps = ['local'];
  if (onPath('bwrap', path)) caps.push('sandbox');
  return caps;
}

function onPath(program: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export class StdioAgent {
  private readonly out: JsonLineWriter;
  /** Running jobs by jobId. */
  private readonly jobs = new Map<string, AbortController>();
  private closing = false;
  private resolveDone!: () => void;
  /** Settles once input has ended or shutdown was asked for, and every job has reported job-finished. */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly options: StdioAgentOptions) {
    this.out = new JsonLineWriter(options.output, {
      coalesceMs: options.frames === true ? REPORT_COALESCE_MS : 0,
    });
  }

  start(): Promise<void> {
    const hello: AgentMessage = {
      type: 'hello',
      protocol: AGENT_PROTOCOL_VERSION,
      capabilities: this.options.capabilities ?? detectCapabilities(),
      pid: process.pid,
    };
    this.out.write(hello);
    this.options.input.on('error', (e: Error) => {
      this.options.warn(`otto agent: reading commands failed: ${e.message}`);
      this.shutdown('the agent input failed');
    });
    const lines = createInterface({ input: this.options.input, crlfDelay: Infinity });
    lines.on('line', (line) => this.onLine(line));
    lines.on('close', () => this.shutdown('the agent input closed'));
    return this.done;
  }

  /** Cancels every job; `done` settles when all have finished. Idempotent. */
  shutdown(reason: string): void {
    if (!this.closing) {
      this.closing = true;
      for (const controller of this.jobs.values()) controller.abort(reason);
    }
    this.maybeDone();
  }

  /** The line itself is never echoed: a malformed 'run' can carry secret values. */
  private onLine(line: string): void {
    if (line.trim() === '') return;
    let command: unknown;
    try {
      command = JSON.parse(line);
    } catch (e) {
      return this.options.warn(
        `otto agent: ignoring a line that is not JSON (${(e as Error).message}; ${line.length} characters)`,
      );
    }
    const problem = commandProblem(command);
    if (problem !== null)
      return this.options.warn(`otto agent: ignoring a bad command: ${problem}`);
    const cmd = command as AgentCommand;
    switch (cmd.type) {
      case 'run':
        return this.run(cmd.job);
      case 'cancel':
        this.jobs.get(cmd.jobId)?.abort(cmd.reason);
        return;
      case 'shutdown':
        return this.shutdown('the agent is shutting down');
    }
  }

  private run(job: StageJob): void {
    if (this.jobs.has(job.jobId)) {
      return this.options.warn(
        `otto agent: job ${job.jobId} is already running; ignoring the second 'run'`,
      );
    }
    if (this.closing || job.protocol !== AGENT_PROTOCOL_VERSION) {
      const message = this.closing
        ? 'the agent is shutting down'
        : `the job speaks agent protocol ${String(job.protocol)}; this agent speaks ${AGENT_PROTOCOL_VERSION}`;
      const outcome = this.closing ? 'cancelled' : 'failed';
      this.emit({
        type: 'job-finished',
        jobId: job.jobId,
        outcome,
        message,
        durationMs: 0,
        lastSeq: 0,
        artifacts: [],
      });
      return;
    }
    const controller = new AbortController();
    this.jobs.set(job.jobId, controller);
    void runJob(job, (e) => this.emit(e), controller.signal, this.options.objects, {
      backpressure: () => this.out.whenDrained(),
    }).finally(() => {
      this.jobs.delete(job.jobId);
      this.maybeDone();
    });
  }

  private emit(e: AgentEvent): void {
    // The orchestrator acts on a job's end (what runs next); the rest only informs.
    const urgent = e.type === 'job-finished';
    if (e.type === 'logs' && this.options.frames === true) this.out.writeLogsFrame(e, urgent);
    else this.out.write(e, urgent);
  }

  private maybeDone(): void {
    if (this.closing && this.jobs.size === 0) void this.out.flushed().then(this.resolveDone);
  }
}

/** Why `x` is not an AgentCommand this agent can act on, or null. */
function commandProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'not an object';
  const c = x as Record<string, unknown>;
  switch (c.type) {
    case 'run':
      return jobProblem(c.job);
    case 'cancel':
      return typeof c.jobId === 'string' ? null : 'cancel needs a jobId';
    case 'shutdown':
      return null;
    default:
      return `unknown type ${JSON.stringify(c.type)}; expected run, cancel or shutdown`;
  }
}

function jobProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'run needs a job object';
  const j = x as Record<string, unknown>;
  if (typeof j.jobId !== 'string' || j.jobId === '') return 'job.jobId must be a non-empty string';
  if (!Array.isArray(j.ops)) return 'job.ops must be an array';
  if (typeof j.workspace !== 'string' || !j.workspace.startsWith('/'))
    return 'job.workspace must be an absolute path';
  for (const key of ['secrets', 'baseEnv'] as const) {
    if (typeof j[key] !== 'object' || j[key] === null) return `job.${key} must be an object`;
  }
  if (!Array.isArray(j.maskValues)) return 'job.maskValues must be an array';
  for (const key of ['timeoutMs', 'graceMs'] as const) {
    if (typeof j[key] !== 'number') return `job.${key} must be a number`;
  }
  return null;
}
