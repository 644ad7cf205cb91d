// NODE_EXTRA_CA_CERTS without its start-up cost. Node 20 reads and parses every certificate in that
// file before it runs any JavaScript: about 90 ms for a system bundle on this machine, paid by every
// `otto` command and by the agent process `otto run` starts. bin/otto (a shell script for this reason)
// moves the variable aside as OTTO_EXTRA_CA_CERTS; the CLI puts it back for every process it runs
// (steps, git, npm see what the user set), keeps it away from the Node processes of its own, and
// loads the file only when it makes an HTTPS request (httpFetch). docs/decisions.md has the numbers.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import type * as UndiciModule from 'undici';

type Undici = typeof UndiciModule;

const MOVED = 'OTTO_EXTRA_CA_CERTS';

/** The file bin/otto kept from Node's start-up, once restoreExtraCaCerts has run. */
let deferredFile: string | undefined;

/**
 * Puts NODE_EXTRA_CA_CERTS back into this process's environment (for the processes it starts) and
 * remembers that Node did not load it. Without bin/otto's move, Node loaded it and nothing changes.
 */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const moved = env[MOVED];
  if (moved === undefined) return;
  delete env[MOVED];
  if (moved === '') return;
  env.NODE_EXTRA_CA_CERTS = moved;
  deferredFile = moved;
}

/**
 * The environment for a Node process of Otto's own (the local agent, `otto gc`): NODE_EXTRA_CA_CERTS
 * moved aside as bin/otto does, so that it starts without reading the certificates. The agent passes
 * its jobs' environment from the orchestrator, not its own, so steps still see the variable.
 */
export function envForOwnNode(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (file === undefined || file === '') return env;
  const out: NodeJS.ProcessEnv = { ...env, [MOVED]: file };
  delete out.NODE_EXTRA_CA_CERTS;
  return out;
}

let dispatcher: Promise<unknown> | undefined;

/** undici, loaded when first needed (required, not imported: the CLI may run as a script without an import hook). */
function undici(): Promise<Undici> {
  return Promise.resolve().then(() => createRequire(import.meta.url)('undici') as Undici);
}

/** An undici dispatcher trusting Node's root certificates and the deferred file's (once). */
function extraCaDispatcher(file: string): Promise<unknown> {
  return (dispatcher ??= undici().then(({ Agent }) => {
    let extra: string;
    try {
      extra = readFileSync(file, 'utf8');
    } catch (e) {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS, and goes on without it.
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
      return new Agent();
    }
    return new Agent({ connect: { ca: [...rootCertificates, extra] } });
  }));
}

/**
 * fetch(), trusting NODE_EXTRA_CA_CERTS as Node would had it loaded the file at start-up. Every
 * outgoing request of Otto's goes through here (notifications, poll gates, remote libraries, the
 * remote agent's calls to its server).
 */
export async function httpFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const file = deferredFile;
  // Every URL, not only https: ones: a redirect may lead from one to the other.
  if (file === undefined) return fetch(url, init);
  const [{ fetch: undiciFetch }, agent] = await Promise.all([undici(), extraCaDispatcher(file)]);
  return (await undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
}

/**
 * Why a fetch failed, in words: fetch's own "fetch failed" hides the useful part in `cause`
 * (ECONNREFUSED 127.0.0.1:8080, a self-signed certificate, …).
 */
export function fetchFailure(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err.cause;
  if (cause?.code && cause.message) return cause.message.includes(cause.code) ? cause.message : `${cause.code}: ${cause.message}`;
  if (cause?.message) return cause.message;
  return err.message ?? String(e);
}
