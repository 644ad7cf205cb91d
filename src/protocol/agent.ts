// The agent protocol (version 1): what the orchestrator sends an agent and what the agent reports.
// Local mode carries these as JSON lines over the agent child's stdin/stdout; server mode over HTTP.
//
// Framed logs (local mode, when the agent is started with `--frames`, as `otto run` does): a 'logs'
// event on stdout is not one JSON line but a header line followed by raw bytes, so log text is
// neither escaped into JSON nor parsed back:
//   {"type":"logs","jobId":"…","bytes":N,"chunks":[{"seq":1,"step":0,"stream":"stdout","bytes":n1},…]}\n
//   <N bytes: each chunk's text as UTF-8, in chunk order, n1 + n2 + … = N; no separator after>
// A chunk the agent wrote to the job's log file itself (StageJob.logFile) has `"at":OFFSET` in the
// header and none of its bytes follow. Every other message is still one JSON line. The types below
// stay the in-memory shape on both sides (a chunk's `text` is rebuilt from its bytes, or its file).

import { closeSync, openSync, readSync } from 'node:fs';
import type { Op, PlanRuntime } from './plan.js';

export const AGENT_PROTOCOL_VERSION = 1;

/** Everything an agent needs to run one attempt of one stage. */
export interface StageJob {
  readonly protocol: typeof AGENT_PROTOCOL_VERSION;
  /** Unique per attempt: `${runId}/${stagePath}#${attempt}`. */
  readonly jobId: string;
  readonly runId: string;
  readonly stagePath: string;
  readonly attempt: number;
  readonly ops: readonly Op[];
  /** Absolute directory the stage works in (prepared by the orchestrator in local mode). */
  readonly workspace: string;
  /** Values of the secret variables named in SETVARS ops (never stored in the plan). */
  readonly secrets: Readonly<Record<string, string>>;
  /** Values to mask in every log line besides the secrets (e.g. tokens the orchestrator minted). */
  readonly maskValues: readonly string[];
  /** Environment every process starts from (PATH, HOME, …), before SETVARS. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** The whole stage's time limit. */
  readonly timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when a step is stopped. */
  readonly graceMs: number;
  /** Where STORE/FETCH and caches go: a local object store directory (S3 later). */
  readonly objects: { readonly kind: 'local'; readonly dir: string } | null;
  /** The project, for cache keys across runs. */
  readonly project: string;
  /** How processes run: `local`, or `sandbox` (bubblewrap). Agents refuse runtimes they lack. */
  readonly runtime?: PlanRuntime;
  /** Where `library:` step directories live on this agent (the library cache root). */
  readonly libraryRoot?: string;
  /**
   * Runs whose artifacts FETCH may read, in order: this run, then the run it reruns (and so on),
   * for stages a rerun carried over. Absent: this run only.
   */
  readonly artifactRuns?: readonly string[];
  /**
   * Local mode, with a store that keeps step output in files: the agent writes the job's output to
   * this file itself, from `offset` on, and its 'logs' events carry where each chunk's bytes are
   * instead of the bytes (see WRITTEN_AT). The orchestrator then only indexes them.
   */
  readonly logFile?: { readonly path: string; readonly offset: number };
}

export type StepStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped';
export type StageOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

/**
 * A chunk (or a LogRecord made from one) read from a frame may carry the UTF-8 bytes of its text under
 * this key, not enumerable; its `text` is then decoded from them when first read. A store may write
 * the bytes instead of encoding the text again (a flood passes through `otto run` without becoming
 * strings it never shows).
 */
export const TEXT_BYTES: unique symbol = Symbol.for('otto.textBytes');

/** `fields` with a `text` decoded from `bytes` when first read, and the bytes under TEXT_BYTES. */
export function withTextBytes<T extends { readonly text: string }>(fields: Omit<T, 'text'>, bytes: Buffer): T {
  let text: string | undefined;
  const out = Object.defineProperty({ ...fields }, 'text', {
    enumerable: true,
    get: () => (text ??= bytes.toString('utf8')),
  });
  return Object.defineProperty(out, TEXT_BYTES, { value: bytes }) as unknown as T;
}

/** The UTF-8 bytes a chunk or record carries (see TEXT_BYTES), if any. */
export function textBytes(x: { readonly text: string }): Buffer | undefined {
  return (x as { [TEXT_BYTES]?: Buffer })[TEXT_BYTES];
}

/** Where a chunk's bytes were written (StageJob.logFile): `length` bytes at `offset` of `path`. */
export interface WrittenSlice {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * A chunk (or a LogRecord made from one) whose bytes the agent wrote to the job's log file carries
 * where under this key, not enumerable; its `text` is read from the file when first read (a store
 * that keeps that file only indexes the chunk).
 */
export const WRITTEN_AT: unique symbol = Symbol.for('otto.writtenAt');

/** `fields` with a `text` read from `slice` when first read, and the slice under WRITTEN_AT. */
export function writtenChunk<T extends { readonly text: string }>(fields: Omit<T, 'text'>, slice: WrittenSlice): T {
  let text: string | undefined;
  const out = Object.defineProperty({ ...fields }, 'text', {
    enumerable: true,
    get: () => (text ??= readSlice(slice).toString('utf8')),
  });
  return Object.defineProperty(out, WRITTEN_AT, { value: slice }) as unknown as T;
}

/** Where the agent wrote a chunk's bytes (see WRITTEN_AT), if it did. */
export function writtenSlice(x: { readonly text: string }): WrittenSlice | undefined {
  return (x as { [WRITTEN_AT]?: WrittenSlice })[WRITTEN_AT];
}

/** The same text as `c` under other fields: its bytes or its written slice carried over, not decoded. */
export function withTextOf<T extends { readonly text: string }>(c: { readonly text: string }, fields: Omit<T, 'text'>): T {
  const bytes = textBytes(c);
  if (bytes) return withTextBytes<T>(fields, bytes);
  const slice = writtenSlice(c);
  if (slice) return writtenChunk<T>(fields, slice);
  return { ...fields, text: c.text } as unknown as T;
}

/** The bytes of a slice of a file; a file shorter than the slice yields what it has. */
export function readSlice(slice: WrittenSlice): Buffer {
  const buf = Buffer.allocUnsafe(slice.length);
  const fd = openSync(slice.path, 'r');
  try {
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, slice.offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** One chunk of output. `seq` increases by one per chunk within a job, from 1. */
export interface LogChunk {
  readonly seq: number;
  /** The step index, or null for the agent's own lines (cache hit/miss, artifact sizes). */
  readonly step: number | null;
  readonly stream: 'stdout' | 'stderr' | 'system';
  /** Already masked text. */
  readonly text: string;
}

export type AgentEvent =
  | { readonly type: 'job-started'; readonly jobId: string; readonly at: number }
  | { readonly type: 'logs'; readonly jobId: string; readonly chunks: readonly LogChunk[] }
  | {
      readonly type: 'step-started';
      readonly jobId: string;
      readonly step: number;
      readonly label: string;
      readonly at: number;
    }
  | {
      readonly type: 'step-finished';
      readonly jobId: string;
      readonly step: number;
      readonly status: StepStatus;
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly durationMs: number;
      readonly message: string;
    }
  | {
      readonly type: 'job-finished';
      readonly jobId: string;
      readonly outcome: StageOutcome;
      readonly message: string;
      readonly durationMs: number;
      /** The last log seq sent, so the receiver knows when it has every chunk. */
      readonly lastSeq: number;
      /** Artifacts stored and caches saved by this job. */
      readonly artifacts: readonly { readonly name: string; readonly digest: string; readonly size: number; readonly files: number }[];
    };

/** Messages to a local agent child on stdin. */
export type AgentCommand =
  | { readonly type: 'run'; readonly job: StageJob }
  | { readonly type: 'cancel'; readonly jobId: string; readonly reason: string }
  | { readonly type: 'shutdown' };

/** Messages from a local agent child on stdout: a hello, then events. */
export type AgentMessage =
  | { readonly type: 'hello'; readonly protocol: typeof AGENT_PROTOCOL_VERSION; readonly capabilities: readonly string[]; readonly pid: number }
  | AgentEvent;
