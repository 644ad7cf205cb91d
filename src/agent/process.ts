// Runs one step process as the leader of its own process group and makes sure nothing it started
// outlives it: a timeout, a cancel or the leader's exit ends the whole group (TERM, then KILL).
// The process is started by the native helper (spawner.ts) when it is built, else by Node's spawn.

import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { groupAlive, signalGroup } from './process-group.js';
import {
  HELPER_PATH,
  helperBuilt,
  startError,
  startNative,
  type OutputStream,
  type StepEvents,
  type StepHandle,
} from './spawner.js';

export type { OutputStream } from './spawner.js';

/** How step processes are started: the native helper, or Node's child_process.spawn. */
export type Spawner = 'native' | 'node';

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
  /** Default: `defaultSpawner()`. 'native' fails the step when the helper is not built. */
  readonly spawner?: Spawner;
}

export interface ProcessResult {
  /** The exit status, or null when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  /** The signal that ended the process, e.g. 'SIGKILL'. */
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly durationMs: number;
  /** Why the process could not be started (or was lost with the helper running it), or null. */
  readonly error: string | null;
}

/** `/bin/sh -e -c script`: stops at the first failing command. */
export function shellArgv(script: string): string[] {
  return ['/bin/sh', '-e', '-c', script];
}

/**
 * OTTO_SPAWNER: `node` for Node's spawn, `native` for the helper (a step fails when it is not built);
 * unset, the helper when dist/native/otto-spawn exists, else Node's spawn.
 */
export function defaultSpawner(): Spawner {
  const asked = process.env.OTTO_SPAWNER;
  if (asked === 'node' || asked === 'native') return asked;
  return helperBuilt() ? 'native' : 'node';
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
  const program = spec.argv[0];
  if (program === undefined) return Promise.resolve(done({ error: 'no program to run' }));
  const strings = [spec.cwd, ...spec.argv, ...Object.entries(spec.env).flat()];
  if (strings.some((s) => typeof s === 'string' && s.includes('\0'))) {
    return Promise.resolve(
      done({ error: 'an argument, the working directory or the environment contains a NUL byte' }),
    );
  }
  const spawner = spec.spawner ?? defaultSpawner();
  if (spawner === 'native' && !helperBuilt()) {
    return Promise.resolve(
      done({
        error: `the native step helper ${HELPER_PATH} is not built (npm run build; it needs a C compiler), and OTTO_SPAWNER=native asks for it`,
      }),
    );
  }

  return new Promise<ProcessResult>((resolve) => {
    let pid: number | undefined;
    let timedOut = false;
    let cancelled = false;
    let exit: { code: number | null; signal: string | null } | null = null;
    let groupGone = false;
    let stopping = false;
    let stopWanted = false;
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
        child.closePipes();
        openPipes = 0;
        maybeFinish();
      }, PIPE_IDLE_MS);
    };

    /** TERM to the group now, KILL after the grace period if anything is left. Idempotent. */
    const stopGroup = (): void => {
      if (stopping || groupGone) return;
      if (pid === undefined) {
        stopWanted = true; // the helper has not said the pid yet: stop it as soon as it does
        return;
      }
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

    const events: StepEvents = {
      started: (p) => {
        pid = p;
        if (stopWanted) stopGroup();
      },
      failed: (error) => {
        // Not started (missing program or cwd), or the helper died: then nothing reports this group.
        if (pid !== undefined) signalGroup(pid, 'SIGKILL');
        finish({ error });
      },
      exited: (code, sig, groupEmpty) => {
        exit = { code, signal: sig };
        if (timeout !== null) clearTimeout(timeout);
        timeout = null;
        // Whatever the leader left running in its group (`sleep 1000 &`) is ended too.
        if (!stopping) {
          if (groupEmpty !== true && alive()) stopGroup();
          else markGone();
        }
        // The pipes may have closed before this event (the order is not guaranteed).
        maybeFinish();
      },
      output: (stream, data) => {
        if (idleTimer !== null) armIdle();
        const wait = spec.onOutput(stream, data);
        if (wait === undefined) return;
        child.pause(stream);
        paused++;
        const resume = (): void => {
          paused--;
          child.resume(stream);
        };
        void wait.then(resume, resume);
      },
      closed: () => {
        openPipes--;
        maybeFinish();
      },
    };

    const cwd = resolvePath(spec.cwd);
    const child =
      spawner === 'native'
        ? startNative(spec.argv, cwd, spec.env, events)
        : startWithNode(program, spec.argv.slice(1), cwd, spec.env, events);
    if (settled) return;
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

/** Node's child_process.spawn behind the same events: the fallback when the helper is not built. */
function startWithNode(
  program: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  events: StepEvents,
): StepHandle {
  const child = spawn(program, args, {
    cwd,
    env: { ...env },
    detached: true, // setsid(): the child leads a new process group whose id is its pid
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    // Spawn failures (missing program or cwd) arrive here with no pid and no exit event.
    if (child.pid !== undefined) return;
    const errno = -(err.errno ?? 0);
    events.failed(
      errno > 0 ? startError(program, cwd, usableDir(cwd) ? 'program' : 'cwd', errno) : err.message,
    );
  });
  child.on('exit', (code, sig) => events.exited(code, sig));
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name];
    stream.on('data', (data: Buffer) => events.output(name, data));
    stream.on('error', () => undefined); // EPIPE and the like; 'close' still follows
    stream.on('close', () => events.closed(name));
  }
  if (child.pid !== undefined) events.started(child.pid);
  return {
    pause: (name) => child[name].pause(),
    resume: (name) => child[name].resume(),
    closePipes: () => {
      child.stdout.destroy();
      child.stderr.destroy();
    },
  };
}

function usableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.X_OK);
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
