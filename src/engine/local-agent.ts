// The local agent: a child process speaking the agent protocol over stdio. The orchestrator never
// runs user code itself; if the child dies, its jobs are reported lost, never silently dropped.

import { spawn, type ChildProcess } from 'node:child_process';
import { textBytes, withTextBytes, writtenChunk, writtenSlice, type AgentCommand, type AgentEvent, type AgentMessage, type LogChunk, type StageJob } from '../protocol/agent.js';
import { missingRuntime, type AgentDispatcher, type EventListener } from './agents.js';
import type { PlanRuntime } from '../protocol/plan.js';
import { envForOwnNode } from '../util/http-fetch.js';

export interface LocalAgentOptions {
  /** The agent's entry script (dist/src/agent/main.js). */
  readonly agentMain: string;
  /**
   * Log bytes handed to the listeners and not recorded yet above which the agent's output is not
   * read (the agent then waits, and so do its steps), and below which reading goes on. Default
   * 16 MiB and 4 MiB: a store slower than a step's output costs time, never unbounded memory.
   */
  readonly unrecordedHigh?: number;
  readonly unrecordedLow?: number;
}

const UNRECORDED_HIGH = 16 * 1024 * 1024;
const UNRECORDED_LOW = 4 * 1024 * 1024;

export class LocalAgent implements AgentDispatcher {
  private readonly child: ChildProcess;
  private caps: string[] = ['local'];
  private readonly listeners: EventListener[] = [];
  private readonly lostListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly assignedListeners: Array<(jobId: string, agent: string) => void> = [];
  private readonly open = new Set<string>();
  /** The log file each open job writes itself (StageJob.logFile). */
  private readonly logFiles = new Map<string, string>();
  private exited = false;
  /** Whether any job was sent: an agent that never had one has nothing to stop and is just killed. */
  private dispatched = false;
  private stderrTail = '';
  /** Log bytes delivered and not yet recorded; reading stops while there are too many. */
  private unrecorded = 0;
  private heldBack = false;
  private readonly high: number;
  private readonly low: number;
  readonly ready: Promise<void>;

  constructor(options: LocalAgentOptions) {
    this.high = options.unrecordedHigh ?? UNRECORDED_HIGH;
    this.low = options.unrecordedLow ?? UNRECORDED_LOW;
    // --frames: log chunks arrive as raw bytes after a header line (src/protocol/agent.ts).
    this.child = adoptPrestarted(options.agentMain) ?? spawn(process.execPath, [options.agentMain, '--frames'], { stdio: ['pipe', 'pipe', 'pipe'], env: envForOwnNode() });
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
    // Started early (while the run is planned), the agent may fail before anyone awaits `ready`.
    this.ready.catch(() => undefined);
    const reader = new MessageReader((msg) => {
      if (msg.type === 'hello') {
        this.caps = [...msg.capabilities];
        resolveReady();
        return;
      }
      if (msg.type === 'job-finished') {
        this.open.delete(msg.jobId);
        this.logFiles.delete(msg.jobId);
      }
      const recorded = this.listeners.map((l) => l(msg)).filter((r) => r instanceof Promise);
      if (msg.type === 'logs' && recorded.length > 0) this.holdUntilRecorded(logBytes(msg), recorded);
    }, (jobId) => this.logFiles.get(jobId));
    this.child.stdout?.on('data', (data: Buffer) => reader.push(data));
    // Everything the agent wrote has been read once its stdout closes (reading may be held back).
    const outputRead = new Promise<void>((res) => (this.child.stdout ? this.child.stdout.once('close', () => res()) : res()));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const reason = `the local agent exited (${signal ?? `code ${code ?? '?'}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').pop() ?? ''}` : ''}`;
      rejectReady(new Error(reason));
      // Let the reader take what the agent wrote before it died, then report the rest lost.
      void outputRead.then(() =>
        setImmediate(() => {
          for (const jobId of [...this.open]) {
            this.open.delete(jobId);
            for (const l of this.lostListeners) l(jobId, reason);
          }
        }),
      );
    });
  }

  capabilities(): readonly string[] {
    return this.caps;
  }

  /** Counts `bytes` as unrecorded until every promise settles, holding reading back above the mark. */
  private holdUntilRecorded(bytes: number, recorded: Array<void | Promise<void>>): void {
    this.unrecorded += bytes;
    this.throttle();
    void Promise.allSettled(recorded).then(() => {
      this.unrecorded -= bytes;
      this.throttle();
    });
  }

  private throttle(): void {
    const out = this.child.stdout;
    if (!out) return;
    if (!this.heldBack && this.unrecorded > this.high) {
      this.heldBack = true;
      out.pause();
    } else if (this.heldBack && this.unrecorded < this.low) {
      this.heldBack = false;
      out.resume();
    }
  }

  /** Whether reading the agent's output is held back for the store (for tests). */
  get waitingForStore(): boolean {
    return this.heldBack;
  }

  refuse(runtime: PlanRuntime): string | undefined {
    return missingRuntime(runtime, this.caps);
  }

  private send(cmd: AgentCommand): void {
    if (this.exited) return;
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  dispatch(job: StageJob): void {
    this.dispatched = true;
    this.open.add(job.jobId);
    if (job.logFile) this.logFiles.set(job.jobId, job.logFile.path);
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

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  onLost(listener: (jobId: string, reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Asks the agent to finish (cancelling anything left) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
    if (!this.dispatched) {
      // Started for a run that did not happen (an invalid pipeline, nothing to do): it may still be
      // booting, and has no steps to stop.
      this.child.kill('SIGKILL');
      await exited;
      return;
    }
    this.send({ type: 'shutdown' });
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The agent bin/otto started before loading the CLI (it saves the CLI's load time from the run's
 * start-up), when it runs the same entry script; it was unreferenced so as not to hold the process.
 */
function adoptPrestarted(agentMain: string): ChildProcess | undefined {
  const key = Symbol.for('otto.prestartedAgent');
  const slot = globalThis as unknown as Record<symbol, { agentMain: string; child: ChildProcess } | undefined>;
  const pre = slot[key];
  if (pre === undefined || pre.agentMain !== agentMain || pre.child.exitCode !== null || pre.child.signalCode !== null) return undefined;
  slot[key] = undefined;
  pre.child.ref();
  for (const s of [pre.child.stdin, pre.child.stdout, pre.child.stderr] as Array<{ ref?: () => void } | null>) s?.ref?.();
  return pre.child;
}

/**
 * The bytes of a logs event's texts held in memory, without decoding: none for chunks the agent
 * wrote to the log file (the store only indexes those).
 */
function logBytes(e: Extract<AgentEvent, { type: 'logs' }>): number {
  let n = 0;
  for (const c of e.chunks) if (!writtenSlice(c)) n += textBytes(c)?.length ?? c.text.length;
  return n;
}

/**
 * A 'logs' header: its chunks carry byte counts, their texts follow it as `bytes` raw bytes, except
 * a chunk with `at`, which the agent wrote at that offset of the job's log file.
 */
interface FrameHeader {
  readonly type: 'logs';
  readonly jobId: string;
  readonly bytes: number;
  readonly chunks: ReadonlyArray<Omit<LogChunk, 'text'> & { readonly bytes: number; readonly at?: number }>;
}

/**
 * Splits the agent's stdout into messages: JSON lines, and 'logs' frames (a header line, then raw
 * bytes). Bytes are scanned for newlines directly; a frame's payload is never searched or parsed.
 */
export class MessageReader {
  /** Pieces of a line not yet ended. */
  private line: Buffer[] = [];
  /** The frame whose payload is being read, and its pieces so far. */
  private frame: FrameHeader | null = null;
  private payload: Buffer[] = [];
  private missing = 0;

  constructor(
    private readonly deliver: (message: AgentMessage) => void,
    /** The log file a job writes itself, for chunks that say where in it they are. */
    private readonly logFileOf: (jobId: string) => string | undefined = () => undefined,
  ) {}

  push(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.frame !== null) {
        const take = Math.min(this.missing, data.length - at);
        this.payload.push(data.subarray(at, at + take));
        at += take;
        this.missing -= take;
        if (this.missing === 0) this.endFrame();
        continue;
      }
      const nl = data.indexOf(10, at);
      if (nl < 0) {
        this.line.push(data.subarray(at));
        return;
      }
      const piece = data.subarray(at, nl);
      at = nl + 1;
      const line = this.line.length === 0 ? piece : Buffer.concat([...this.line, piece]);
      this.line = [];
      this.onLine(line);
    }
  }

  private onLine(line: Buffer): void {
    let msg: AgentMessage | FrameHeader;
    try {
      msg = JSON.parse(line.toString('utf8')) as AgentMessage | FrameHeader;
    } catch {
      return; // not a message (a stray line on stdout): ignored, as before framing
    }
    if (msg.type === 'logs' && typeof (msg as Partial<FrameHeader>).bytes === 'number') {
      this.frame = msg as FrameHeader;
      this.missing = this.frame.bytes;
      if (this.missing === 0) this.endFrame();
      return;
    }
    this.deliver(msg as AgentMessage);
  }

  private endFrame(): void {
    const frame = this.frame as FrameHeader;
    // Read in one piece, the payload is a view on that read's buffer; in several, they are joined.
    const bytes = this.payload.length === 1 ? (this.payload[0] as Buffer) : Buffer.concat(this.payload);
    this.frame = null;
    this.payload = [];
    let at = 0;
    // The texts stay bytes until someone reads them (the store writes the bytes as they are).
    const file = this.logFileOf(frame.jobId);
    const chunks = frame.chunks.map((c) => {
      const fields = { seq: c.seq, step: c.step, stream: c.stream };
      // Only a job given a log file has chunks with `at`. Were one to come without, the store
      // refuses it naming this path (SqliteStore.appendLogs), rather than it being lost unseen.
      if (c.at !== undefined) return writtenChunk<LogChunk>(fields, { path: file ?? '(no log file was given to this job)', offset: c.at, length: c.bytes });
      const chunk = withTextBytes<LogChunk>(fields, bytes.subarray(at, at + c.bytes));
      at += c.bytes;
      return chunk;
    });
    this.deliver({ type: 'logs', jobId: frame.jobId, chunks });
  }
}
