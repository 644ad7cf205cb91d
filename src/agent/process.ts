// Runs one step process as the leader of its own process group and makes sure nothing it started
// outlives it: a timeout, a cancel or the leader's exit ends the whole group (TERM, then KILL).

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { groupAlive, signalGroup } from './process-group.js';

export type OutputStream = 'stdout' | 'stderr';

export interface ProcessSpec {
  /** Program and arguments; see `shellArgv` for a script. */
  readonly argv: readonly string[];
  readonly cwd: string;
  /** The complete environment: nothing is inherited from the agent. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops the process after this long; 0 or Infinity for no limit. */
  readonly timeoutMs: number;
  /** Time between SIGTERM and SIGKILL to the group. */
  readonly graceMs: number;
  readonly signal?: AbortSignal;
  /**
   * Receives output as it is read. A returned promise pauses reading that stream until it settles:
   * the process then blocks on a full pipe, which is how a slow log consumer slows the step down.
   */
  readonly onOutput: (stream: OutputStream, data: Buffer) => void | Promise<void>;
}

export interface ProcessResult {
  /** The exit status, or null when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  /** The signal that ended the process, e.g. 'SIGKILL'. */
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly durationMs: number;
  /** Why the process could not be started, or null. */
  readonly error: string | null;
}

/** `/bin/sh -e -c script`: stops at the first failing command. */
export function shellArgv(script: string): string[] {
  return ['/bin/sh', '-e', '-c', script];
}

/**
 * A stopping group is checked for survivors after this long, doubling up to POLL_MAX_MS, so a quick
 * exit is not held for the whole grace period and a slow one does not cost many /proc scans.
 */
const POLL_MS = 10;
const POLL_MAX_MS = 160;

/**
 * After the group is gone, output pipes normally reach EOF at once. A process that escaped the group
 * (setsid, a daemon) can hold them open forever, so stop waiting after this long without data.
 */
const PIPE_IDLE_MS = 500;

export function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  const started = performance.now();
  const done = (partial: Partial<ProcessResult>): ProcessResult => ({
    exitCode: null,
    signal: null,
    timedOut: false,
    cancelled: false,
    error: null,
    ...partial,
    durationMs: Math.round(performance.now() - started),
  });
  if (spec.signal?.aborted) return Promise.resolve(done({ cancelled: true }));
  const [program, ...args] = spec.argv;
  if (program === undefined) return Promise.resolve(done({ error: 'no program to run' }));

  return new Promise<ProcessResult>((resolve) => {
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env: { ...spec.env },
      detached: true, // setsid(): the child leads a new process group whose id is its pid
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    let timedOut = false;
    let cancelled = false;
    let exit: { code: number | null; signal: string | null } | null = null;
    let groupGone = false;
    let stopping = false;
    let openPipes = 2;
    let paused = 0;
    let settled = false;
    let timeout: NodeJS.Timeout | null = null;
    let poll: NodeJS.Timeout | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    let idleTimer: NodeJS.Timeout | null = null;

    const signal = (sig: NodeJS.Signals): boolean => pid !== undefined && signalGroup(pid, sig);
    const alive = (): boolean => pid !== undefined && groupAlive(pid);

    const finish = (partial: Partial<ProcessResult>): void => {
      if (settled) return;
      settled = true;
      for (const t of [timeout, poll, killTimer, idleTimer]) if (t !== null) clearTimeout(t);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve(done(partial));
    };

    const maybeFinish = (): void => {
      if (exit === null || !groupGone) return;
      if (openPipes > 0) {
        armIdle();
        return;
      }
      finish({ exitCode: exit.code, signal: exit.signal, timedOut, cancelled });
    };

    const armIdle = (): void => {
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idleTimer = null;
        if (paused > 0) return armIdle(); // we are the slow side; the pipes are not stuck
        child.stdout?.destroy();
        child.stderr?.destroy();
        openPipes = 0;
        maybeFinish();
      }, PIPE_IDLE_MS);
    };

    /** TERM to the group now, KILL after the grace period if anything is left. Idempotent. */
    const stopGroup = (): void => {
      if (stopping || groupGone) return;
      stopping = true;
      if (!signal('SIGTERM')) return markGone();
      killTimer = setTimeout(() => {
        killTimer = null;
        signal('SIGKILL'); // cannot be ignored: the group is as good as gone
        markGone();
      }, spec.graceMs);
      let delay = POLL_MS;
      const check = (): void => {
        poll = null;
        if (groupGone) return;
        if (!alive()) return markGone();
        delay = Math.min(delay * 2, POLL_MAX_MS);
        poll = setTimeout(check, delay);
      };
      poll = setTimeout(check, delay);
    };

    const markGone = (): void => {
      if (groupGone) return;
      groupGone = true;
      if (poll !== null) clearTimeout(poll);
      if (killTimer !== null) clearTimeout(killTimer);
      poll = killTimer = null;
      maybeFinish();
    };

    function onAbort(): void {
      if (exit !== null) return;
      cancelled = true;
      stopGroup();
    }

    child.on('error', (err) => {
      // Spawn failures (missing program or cwd) arrive here with no pid and no exit event.
      if (pid === undefined) finish({ error: err.message });
    });
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      if (timeout !== null) clearTimeout(timeout);
      timeout = null;
      // Whatever the leader left running in its group (`sleep 1000 &`) is ended too.
      if (!stopping) {
        if (alive()) stopGroup();
        else markGone();
      }
      // The pipes may have closed before this event (the order is not guaranteed).
      maybeFinish();
    });

    for (const [name, stream] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      stream.on('data', (data: Buffer) => {
        if (idleTimer !== null) armIdle();
        const wait = spec.onOutput(name, data);
        if (wait !== undefined) {
          stream.pause();
          paused++;
          void wait.then(
            () => {
              paused--;
              stream.resume();
            },
            () => {
              paused--;
              stream.resume();
            },
          );
        }
      });
      stream.on('error', () => undefined); // EPIPE and the like; 'close' still follows
      stream.on('close', () => {
        openPipes--;
        maybeFinish();
      });
    }

    if (pid === undefined) return;
    if (spec.timeoutMs > 0 && Number.isFinite(spec.timeoutMs)) {
      timeout = setTimeout(() => {
        timeout = null;
        if (exit !== null) return;
        timedOut = true;
        stopGroup();
      }, spec.timeoutMs);
    }
    spec.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
