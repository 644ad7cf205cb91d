// The remote agent's options: raw values from the command line and environment, resolved once
// into a frozen ResolvedRemoteAgentOptions that everything below the entry point receives.

import { availableParallelism, homedir, hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LogBatcherOptions } from '../log-batcher.js';
import type { ObjectOps } from '../object-ops.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { detectRunnable } from './capabilities.js';
import { remoteObjectOps } from './objects.js';
import { DEFAULT_OUTBOX_LIMITS, type OutboxLimits } from './outbox.js';
import { parseStepEnv, pickEnv, STEP_ENV_EXAMPLE } from '../../util/step-env.js';

export interface RemoteAgentOptions {
  /** The server's URL, e.g. https://ci.example.com (required). */
  readonly server?: string;
  /** The agent token. Default: $OTTO_AGENT_TOKEN (preferred: a command-line value shows in `ps`). */
  readonly token?: string;
  /** Stable across restarts; the server keeps one record per name. Default: the host name. */
  readonly name?: string;
  /** `computer { label = … }` stages go to agents with that label. A list or "a,b". Default: none. */
  readonly labels?: readonly string[] | string;
  /** Most jobs at once. Default: the number of cores. */
  readonly jobs?: number | string;
  /** Workspaces, repository mirrors, buffered events. Default: $OTTO_AGENT_DIR, else ~/.cache/otto/agent. */
  readonly workDir?: string;
  /** The library cache steps' `library:` directories resolve in. Default: $OTTO_LIBRARY_CACHE, else ~/.cache/otto/libraries. */
  readonly libraryCache?: string;
  /** Default: detected (see detectRunnable). */
  readonly capabilities?: readonly string[];
  /** STORE/FETCH/caches. Default: remoteObjectOps() (the job's store, where this machine shares it). */
  readonly objects?: ObjectOps;
  /** The agent's own messages. Default: one line each to stderr. */
  readonly log?: (line: string) => void;
  /** Default: 250 ms doubling to 15 s. */
  readonly backoff?: BackoffPolicy;
  readonly outbox?: Partial<OutboxLimits>;
  readonly batcher?: LogBatcherOptions;
  /** Limit for a request besides a claim's wait. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** On shutdown, how long to keep delivering the last events. Default 30 s. */
  readonly drainTimeoutMs?: number;
  /** Limit for one git clone or fetch. Default 10 min. */
  readonly fetchTimeoutMs?: number;
  /** Reported to the server. Default: '0.0.0'. */
  readonly version?: string;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface ResolvedRemoteAgentOptions {
  readonly server: URL;
  readonly token: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly maxJobs: number;
  readonly workDir: string;
  readonly libraryRoot: string;
  readonly capabilities: readonly string[];
  readonly objects: ObjectOps;
  readonly log: (line: string) => void;
  readonly backoff: BackoffPolicy;
  readonly outbox: OutboxLimits;
  readonly batcher: LogBatcherOptions | undefined;
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly fetchTimeoutMs: number;
  readonly version: string;
  readonly fetch: typeof fetch | undefined;
  /** This machine's PATH, HOME, … and what OTTO_STEP_ENV names, which replace the orchestrator's in every job. */
  readonly machineEnv: Readonly<Record<string, string>>;
}

/** A mistake in the options: the message says which and what would be valid. */
export class AgentOptionsError extends Error {
  override readonly name = 'AgentOptionsError';
}

/** The variables of a job's base environment that describe the machine, not the run. */
const MACHINE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;

export function resolveRemoteAgentOptions(
  raw: RemoteAgentOptions,
  env: NodeJS.ProcessEnv = process.env,
  detect: () => string[] = detectRunnable,
): ResolvedRemoteAgentOptions {
  const server = serverUrl(raw.server);
  const token = (raw.token ?? env.OTTO_AGENT_TOKEN ?? '').trim();
  if (token === '')
    throw new AgentOptionsError('no agent token: set OTTO_AGENT_TOKEN (or pass --token)');
  const labels = (typeof raw.labels === 'string' ? raw.labels.split(',') : [...(raw.labels ?? [])])
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const l of labels) {
    if (!LABEL.test(l))
      throw new AgentOptionsError(
        `label '${l}' must start with a letter or digit and hold only letters, digits and _ . : / -`,
      );
  }
  const maxJobs = raw.jobs === undefined ? availableParallelism() : Number(raw.jobs);
  if (!Number.isInteger(maxJobs) || maxJobs < 1)
    throw new AgentOptionsError(
      `--jobs must be a whole number of at least 1, not '${String(raw.jobs)}'`,
    );
  const name = (raw.name ?? hostname()).trim();
  if (name === '') throw new AgentOptionsError('the agent name must not be empty');
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const stepEnv = parseStepEnv(env.OTTO_STEP_ENV);
  if ('error' in stepEnv) throw new AgentOptionsError(`${stepEnv.error}: list variable names separated by commas, such as ${STEP_ENV_EXAMPLE}`);
  // OTTO_STEP_ENV: this machine's proxies, certificates, … that its steps start with too.
  const machineEnv: Record<string, string> = { ...pickEnv(env, stepEnv.names) };
  for (const k of MACHINE_ENV) if (env[k] !== undefined) machineEnv[k] = env[k];
  return Object.freeze({
    server,
    token,
    name,
    labels: Object.freeze([...new Set(labels)]),
    maxJobs,
    workDir: absolute(raw.workDir ?? (env.OTTO_AGENT_DIR || join(cache, 'otto', 'agent'))),
    libraryRoot: absolute(
      raw.libraryCache ?? (env.OTTO_LIBRARY_CACHE || join(cache, 'otto', 'libraries')),
    ),
    capabilities: Object.freeze([...(raw.capabilities ?? detect())]),
    objects: raw.objects ?? remoteObjectOps(),
    log: raw.log ?? ((line: string) => process.stderr.write(`otto agent: ${line}\n`)),
    backoff: raw.backoff ?? DEFAULT_BACKOFF,
    outbox: { ...DEFAULT_OUTBOX_LIMITS, ...raw.outbox },
    batcher: raw.batcher,
    requestTimeoutMs: raw.requestTimeoutMs ?? 30_000,
    drainTimeoutMs: raw.drainTimeoutMs ?? 30_000,
    fetchTimeoutMs: raw.fetchTimeoutMs ?? 10 * 60_000,
    version: raw.version ?? '0.0.0',
    fetch: raw.fetch,
    machineEnv: Object.freeze(machineEnv),
  });
}

function serverUrl(raw: string | undefined): URL {
  if (raw === undefined || raw.trim() === '')
    throw new AgentOptionsError('no server: pass --server URL (the address of `otto serve`)');
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new AgentOptionsError(
      `--server '${raw}' is not a URL; for example http://127.0.0.1:8080`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AgentOptionsError(`--server '${raw}' must be an http: or https: URL`);
  if (url.username !== '' || url.password !== '')
    throw new AgentOptionsError(
      '--server must not carry a user or password; the agent authenticates with its token',
    );
  return url;
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(p);
}
