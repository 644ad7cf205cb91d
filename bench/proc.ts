// Helpers for the benchmarks that time whole processes (run, peers): a timed child process, samples
// with their spread, and how busy the rest of this (shared) machine was while they were taken.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fmtMs, median } from './util.js';

/** Wall-clock milliseconds since the epoch, with sub-millisecond precision. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface ProcRun {
  /** Wall time from just before the spawn to the exit, as the caller sees it. */
  readonly ms: number;
  /** epochMs() just before the spawn. */
  readonly startEpochMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** The environment for measured processes: ours without the variables that would redirect Otto. */
export function benchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OTTO_HOME;
  delete env.OTTO_DEBUG;
  return env;
}

/** Runs `cmd` to completion (stdin /dev/null, stdout and stderr captured) and times it; throws unless it exits 0. */
export function timeProcess(cmd: string, args: readonly string[], options: ProcOptions = {}): ProcRun {
  const startEpochMs = epochMs();
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: options.cwd, env: options.env ?? benchEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const tail = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${tail ? `:\n${tail}` : ''}`);
  }
  return { ms, startEpochMs, stdout: r.stdout, stderr: r.stderr };
}

// ---- noise: load average and the CPU other processes used -----------------------------------------

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** CPU-seconds the whole machine (all cores) has spent busy since boot, from /proc/stat. */
function machineBusySeconds(): number | undefined {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1, 9).map(Number) ?? [];
    // user nice system idle iowait irq softirq steal
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** CPU-seconds of this process and of every descendant it (or they) waited for, from /proc/self/stat. */
function ourSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(')').pop()?.trim().split(/\s+/) ?? [];
    // after the command: state(0) … utime(11) stime(12) cutime(13) cstime(14)
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

export interface Noise {
  /** The 1-minute load average at the end (it counts our own processes too). */
  readonly load1: number;
  /** Cores used on average by processes that are not ours during the measurement (undefined off Linux or under 0.5 s). */
  readonly otherCores: number | undefined;
}

/** Measures what the rest of the machine did between start() and stop(). */
export class NoiseMeter {
  private busy0: number | undefined;
  private ours0: number | undefined;
  private t0 = 0;

  start(): this {
    this.busy0 = machineBusySeconds();
    this.ours0 = ourSeconds();
    this.t0 = performance.now();
    return this;
  }

  stop(): Noise {
    const wall = (performance.now() - this.t0) / 1000;
    const busy = machineBusySeconds();
    const ours = ourSeconds();
    // /proc counts in clock ticks (10 ms): a window under half a second says nothing.
    const others =
      busy !== undefined && ours !== undefined && this.busy0 !== undefined && this.ours0 !== undefined && wall >= 0.5
        ? (busy - this.busy0 - (ours - this.ours0)) / wall
        : undefined;
    return { load1: loadavg()[0] ?? 0, otherCores: others };
  }
}

export function fmtNoise(n: Noise): string {
  return `load ${n.load1.toFixed(2)}${n.otherCores === undefined ? '' : `, others ${Math.max(0, n.otherCores).toFixed(2)} cores`}`;
}

// ---- samples ----------------------------------------------------------------------------------------

export interface Samples {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly noise: Noise;
}

export function summarize(xs: readonly number[], noise: Noise): Samples {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, noise };
}

/** `runs` timed calls of `once` (each returns its own measurement) after `warmup` untimed ones. */
export function sample(runs: number, warmup: number, once: () => number): Samples {
  for (let i = 0; i < warmup; i++) once();
  const meter = new NoiseMeter().start();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(once());
  return summarize(xs, meter.stop());
}

export async function sampleAsync(runs: number, warmup: number, once: () => Promise<number>): Promise<Samples> {
  for (let i = 0; i < warmup; i++) await once();
  const meter = new NoiseMeter().start();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await once());
  return summarize(xs, meter.stop());
}

/** "12.3 ms (11.9–13.0 ms, n=5)". */
export function fmtSamples(s: Samples, fmt: (x: number) => string = fmtMs): string {
  return s.n === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)}, n=${s.n})`;
}

export function fmtRate(mbPerSecond: number): string {
  return `${mbPerSecond.toFixed(mbPerSecond < 10 ? 1 : 0)} MB/s`;
}

/** "+12.3 ms" or "−4.5 ms". */
export function fmtDelta(ms: number): string {
  return `${ms < 0 ? '−' : '+'}${fmtMs(Math.abs(ms))}`;
}

/** "3.2x" for how many times `a` is `b`, or "n/a" when it is not meaningful. */
export function times(a: number, b: number): string {
  if (!(a > 0) || !(b > 0)) return 'n/a';
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}
