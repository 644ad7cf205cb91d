// Starts step processes through the native helper (native/otto-spawn.c), one per agent: Node's spawn
// forks the whole agent, which costs time in proportion to its memory (docs/decisions.md).
//
// Protocol 1 (the C file has the full description): frames of u32 length (little-endian, the bytes
// after it), u8 type, u32 step id, payload, on the helper's stdin and stdout.
//   requests: 'S' start (u32 argc, u32 envc, NUL-terminated cwd, argv, env), 'P'/'R' pause/resume a
//             stream (u8 1 stdout, 2 stderr), 'C' close the step's pipes
//   events:   'B' begun (u32 pid), 'F' failed (u8 what, u32 errno), 'O' output (u8 stream, bytes),
//             'E' eof (u8 stream), 'X' exited (u8 0 status / 1 signal, u32 value, u8 group empty)
// The agent signals a step's process group itself (its pgid is its pid); timers, the grace period and
// the /proc checks stay in process.ts, which runs both spawners through the StepEvents below.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { installRoot } from '../util/install.js';

export type OutputStream = 'stdout' | 'stderr';

/** What a step process does, as either spawner reports it. Each stream's output comes before its close. */
export interface StepEvents {
  started(pid: number): void;
  /** It could not be started, or the helper running it died; nothing follows. */
  failed(message: string): void;
  output(stream: OutputStream, data: Buffer): void;
  closed(stream: OutputStream): void;
  /**
   * The leader's end; its group's output may still follow. `groupEmpty`: the spawner saw that no
   * member of the group is left (undefined: it does not know).
   */
  exited(code: number | null, signal: string | null, groupEmpty?: boolean): void;
}

export interface StepHandle {
  /** No output events for `stream` until resume: the process blocks once its pipe is full. */
  pause(stream: OutputStream): void;
  resume(stream: OutputStream): void;
  /** Stops reading both pipes and closes them: no more output or closed events. */
  closePipes(): void;
}

/** The helper binary, built by scripts/build-native.mjs into dist/native/. */
export const HELPER_PATH = join(installRoot, 'dist', 'native', 'otto-spawn');
const PROTOCOL = 1;
/** Output a paused stream may queue here before the helper is asked to stop reading its pipe. */
const PAUSE_AFTER_BYTES = 256 * 1024;
const STREAMS = ['stdout', 'stderr'] as const;
const CODE = { start: 0x53, pause: 0x50, resume: 0x52, close: 0x43 } as const;

let built: boolean | undefined;
export function helperBuilt(): boolean {
  return (built ??= existsSync(HELPER_PATH));
}

/** `spawn /bin/sh ENOENT: …`, Node's words plus what could not be used; `errno` is positive. */
export function startError(
  program: string,
  cwd: string,
  what: 'cwd' | 'program' | 'helper',
  errno: number,
): string {
  const [code, text] = getSystemErrorMap().get(-errno) ?? [`errno ${errno}`, 'unknown error'];
  if (what === 'cwd') return `spawn ${program} ${code}: the working directory ${cwd}: ${text}`;
  if (what === 'helper')
    return `spawn ${program} ${code}: otto-spawn could not make a pipe or a process: ${text}`;
  return `spawn ${program} ${code}: ${text}`;
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

let current: Helper | null = null;

/** The running helper's pid, if one is running (for tests). */
export function helperPid(): number | undefined {
  return current?.child.pid;
}

/** Starts a step through the helper, starting the helper first if none runs. Events come asynchronously. */
export function startNative(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  events: StepEvents,
): StepHandle {
  current ??= new Helper();
  return current.start(argv, cwd, env, events);
}

class Helper {
  readonly child: ChildProcess;
  private readonly steps = new Map<number, NativeStep>();
  private nextId = 1;
  private rest: Buffer = Buffer.alloc(0);
  /** Bytes of the current output frame not read yet, and whose they are. */
  private outputLeft = 0;
  private outputTo: NativeStep | undefined;
  private outputStream = 0;
  private dead = false;

  constructor() {
    // Its own session: a Ctrl-C meant for `otto run` does not kill it; it ends when its stdin closes.
    this.child = spawn(HELPER_PATH, [`--protocol=${PROTOCOL}`], {
      cwd: '/',
      env: {},
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stdin!.on('error', () => undefined); // EPIPE once it died; 'close' says why
    this.child.on('error', (e) =>
      this.die(`the step helper ${HELPER_PATH} could not be started: ${e.message}`),
    );
    this.child.on('close', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      this.die(
        `the step helper otto-spawn ${how}${code === 2 ? ' (rebuild it: npm run build)' : ''}; the step was stopped`,
      );
    });
    this.idle(true);
  }

  start(
    argv: readonly string[],
    cwd: string,
    env: Readonly<Record<string, string>>,
    events: StepEvents,
  ): StepHandle {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const step = new NativeStep(this, id, argv[0] ?? '', cwd, events);
    const vars: string[] = [];
    for (const [k, v] of Object.entries(env)) if (v !== undefined) vars.push(`${k}=${v}`);
    const text = `${[cwd, ...argv, ...vars].join('\0')}\0`;
    const body = Buffer.byteLength(text);
    const frame = Buffer.allocUnsafe(17 + body);
    this.header(frame, CODE.start, id, 8 + body);
    frame.writeUInt32LE(argv.length, 9);
    frame.writeUInt32LE(vars.length, 13);
    frame.write(text, 17, 'utf8');
    if (this.steps.size === 0) this.idle(false);
    this.steps.set(id, step);
    this.child.stdin!.write(frame);
    return step;
  }

  send(type: number, id: number, stream?: number): void {
    if (this.dead) return;
    const frame = Buffer.allocUnsafe(stream === undefined ? 9 : 10);
    this.header(frame, type, id, frame.length - 9);
    if (stream !== undefined) frame[9] = stream;
    this.child.stdin!.write(frame);
  }

  forget(id: number): void {
    if (this.steps.delete(id) && this.steps.size === 0) this.idle(true);
  }

  private header(frame: Buffer, type: number, id: number, payload: number): void {
    frame.writeUInt32LE(5 + payload, 0);
    frame[4] = type;
    frame.writeUInt32LE(id, 5);
  }

  /** An idle helper does not keep the agent's event loop alive; it exits when the agent does. */
  private idle(idle: boolean): void {
    for (const handle of [
      this.child,
      this.child.stdin as Socket | null,
      this.child.stdout as Socket | null,
    ]) {
      if (idle) handle?.unref();
      else handle?.ref();
    }
  }

  /**
   * Frames from the helper. An output frame (nearly all the bytes) is passed on in pieces as its
   * bytes arrive, never copied into one buffer; only other frames and headers split between reads
   * are joined.
   */
  private onData(chunk: Buffer): void {
    let at = 0;
    if (this.outputLeft > 0) {
      const n = Math.min(this.outputLeft, chunk.length);
      this.outputTo?.output(this.outputStream, chunk.subarray(0, n));
      this.outputLeft -= n;
      at = n;
      if (at === chunk.length) return;
    }
    let buf = chunk;
    if (this.rest.length > 0) {
      buf = Buffer.concat([this.rest, chunk.subarray(at)]);
      at = 0;
    }
    while (buf.length - at >= 4) {
      const len = buf.readUInt32LE(at);
      const have = buf.length - at - 4;
      if (have < len) {
        // type, step id and stream byte are here: the output so far goes now, the rest as it comes.
        if (buf[at + 4] === 0x4f && have >= 6) {
          this.outputTo = this.steps.get(buf.readUInt32LE(at + 5));
          this.outputStream = buf[at + 9]! - 1;
          if (have > 6) this.outputTo?.output(this.outputStream, buf.subarray(at + 10));
          this.outputLeft = len - have;
          at = buf.length;
        }
        break;
      }
      const step = this.steps.get(buf.readUInt32LE(at + 5));
      step?.frame(buf[at + 4]!, buf.subarray(at + 9, at + 4 + len));
      at += 4 + len;
    }
    this.rest = buf.subarray(at);
  }

  private die(message: string): void {
    if (this.dead) return;
    this.dead = true;
    if (current === this) current = null;
    const lost = [...this.steps.values()];
    this.steps.clear();
    this.idle(true);
    for (const step of lost) step.lost(message);
  }
}

class NativeStep implements StepHandle {
  private readonly queue: [(Buffer | null)[], (Buffer | null)[]] = [[], []];
  private readonly queued = [0, 0];
  private readonly paused = [false, false];
  private readonly helperPaused = [false, false];
  private readonly open = [true, true];
  private exited = false;
  private gone = false;

  constructor(
    private readonly helper: Helper,
    private readonly id: number,
    private readonly program: string,
    private readonly cwd: string,
    private readonly events: StepEvents,
  ) {}

  frame(type: number, p: Buffer): void {
    switch (type) {
      case 0x42: // B
        return this.events.started(p.readUInt32LE(0));
      case 0x46: {
        // F
        const what = p[0] === 1 ? 'cwd' : p[0] === 2 ? 'program' : 'helper';
        this.forget();
        return this.events.failed(startError(this.program, this.cwd, what, p.readUInt32LE(1)));
      }
      case 0x4f: // O
        return this.output(p[0]! - 1, p.subarray(1));
      case 0x45: // E
        return this.deliver(p[0]! - 1, null);
      case 0x58: {
        // X
        this.exited = true;
        const value = p.readUInt32LE(1);
        const signal = p[0] === 1 ? (signalNames.get(value) ?? `signal ${value}`) : null;
        this.events.exited(signal === null ? value : null, signal, p.length >= 6 ? p[5] === 1 : undefined);
        return this.maybeForget();
      }
    }
  }

  /** Output bytes of stream `k` (0 stdout, 1 stderr), possibly a piece of a frame. */
  output(k: number, data: Buffer): void {
    if (k === 0 || k === 1) this.deliver(k, data);
  }

  pause(stream: OutputStream): void {
    this.paused[STREAMS.indexOf(stream)] = true;
  }

  resume(stream: OutputStream): void {
    const k = STREAMS.indexOf(stream);
    this.paused[k] = false;
    const queue = this.queue[k as 0 | 1];
    while (!this.paused[k] && queue.length > 0) {
      const data = queue.shift()!;
      if (data !== null) this.queued[k]! -= data.length;
      this.emit(k, data);
    }
    if (!this.paused[k] && this.helperPaused[k] && !this.gone) {
      this.helperPaused[k] = false;
      this.helper.send(CODE.resume, this.id, k + 1);
    }
  }

  closePipes(): void {
    if (this.gone) return;
    this.helper.send(CODE.close, this.id);
    this.queue[0].length = this.queue[1].length = 0;
    this.forget();
  }

  lost(message: string): void {
    this.gone = true;
    this.events.failed(message);
  }

  /**
   * A paused stream's output waits here; past PAUSE_AFTER_BYTES the helper stops reading the pipe, so
   * a slow consumer slows the step down instead of filling memory (asking only then saves a request
   * per chunk when the consumer catches up quickly).
   */
  private deliver(k: number, data: Buffer | null): void {
    const queue = this.queue[k as 0 | 1];
    if (!this.paused[k] && queue.length === 0) return this.emit(k, data);
    queue.push(data);
    if (data === null) return;
    this.queued[k]! += data.length;
    if (!this.helperPaused[k] && this.queued[k]! >= PAUSE_AFTER_BYTES) {
      this.helperPaused[k] = true;
      this.helper.send(CODE.pause, this.id, k + 1);
    }
  }

  private emit(k: number, data: Buffer | null): void {
    if (this.gone) return;
    const stream = STREAMS[k]!;
    if (data !== null) return this.events.output(stream, data);
    this.open[k] = false;
    this.events.closed(stream);
    this.maybeForget();
  }

  private maybeForget(): void {
    if (this.exited && !this.open[0] && !this.open[1]) this.forget();
  }

  private forget(): void {
    this.gone = true;
    this.helper.forget(this.id);
  }
}
