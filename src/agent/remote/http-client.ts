// The client side of the agent HTTP protocol (src/protocol/agent-http.ts): one typed method per
// route, each a single attempt whose failure is classified so that callers know whether to retry.

import type {
  ClaimRequest,
  ClaimResponse,
  EventsResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterRequest,
  RegisterResponse,
} from '../../protocol/agent-http.js';
import { fetchFailure, httpFetch } from '../../util/http-fetch.js';

/**
 * - unreachable: no answer (refused, reset, DNS, timeout): retry.
 * - server: 5xx, 408, 429 or an unreadable answer: retry.
 * - auth: 401/403: the token is wrong or lacks the agent role; retrying cannot help.
 * - unknown: 404/410: the server does not know this agent or job (any more).
 * - rejected: any other 4xx or a redirect: the request itself is wrong.
 * - aborted: the caller's signal stopped it.
 */
export type FailureKind = 'unreachable' | 'server' | 'auth' | 'unknown' | 'rejected' | 'aborted';

export class AgentHttpError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly status: number | null = null,
    /** The server's error code (`{error: {code}}`), when it sent one. */
    readonly code: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentHttpError';
  }

  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'server';
  }
}

export interface AgentHttpClientOptions {
  /** The server's base URL (`https://ci.example.com`, or with a path prefix). */
  readonly server: URL;
  readonly token: string;
  readonly userAgent: string;
  /** Default: httpFetch (the global fetch, trusting NODE_EXTRA_CA_CERTS). */
  readonly fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>;
}

export class AgentHttpClient {
  private readonly base: URL;
  private readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;

  constructor(private readonly options: AgentHttpClientOptions) {
    const base = new URL(options.server.href);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = new URL('api/v1/agent/', base);
    this.fetch = options.fetch ?? httpFetch;
  }

  register(
    body: RegisterRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<RegisterResponse> {
    return this.post('register', JSON.stringify(body), timeoutMs, signal);
  }

  claim(body: ClaimRequest, timeoutMs: number, signal?: AbortSignal): Promise<ClaimResponse> {
    return this.post('claim', JSON.stringify(body), timeoutMs, signal);
  }

  /** `body` is an EventsRequest already serialised (the outbox keeps events as JSON text). */
  events(
    jobId: string,
    body: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<EventsResponse> {
    // Job ids contain '/' and '#': one encoded path segment.
    return this.post(`jobs/${encodeURIComponent(jobId)}/events`, body, timeoutMs, signal);
  }

  heartbeat(
    body: HeartbeatRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<HeartbeatResponse> {
    return this.post('heartbeat', JSON.stringify(body), timeoutMs, signal);
  }

  private async post<T>(
    route: string,
    body: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const url = new URL(route, this.base);
    // One controller per request, unhooked from the caller's signal afterwards: AbortSignal.any()
    // on the agent's long-lived signals has leaked in Node releases, one entry per request.
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, timeoutMs);
    const onAbort = (): void => request.abort();
    if (signal?.aborted) request.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': this.options.userAgent,
        },
        body,
        // A redirected POST turns into a GET; better to say where the server went.
        redirect: 'manual',
        signal: request.signal,
      });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted)
        throw new AgentHttpError(`${route}: stopped`, 'aborted', null, null, { cause: e });
      if (timedOut)
        throw new AgentHttpError(
          `${route}: no answer within ${timeoutMs} ms`,
          'unreachable',
          null,
          null,
          { cause: e },
        );
      throw new AgentHttpError(`${route}: ${fetchFailure(e)}`, 'unreachable', null, null, {
        cause: e,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (res.status >= 200 && res.status < 300) {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new AgentHttpError(
          `${route}: the answer (HTTP ${res.status}) is not JSON`,
          'server',
          res.status,
        );
      }
    }
    throw failure(route, res, text);
  }
}

function failure(route: string, res: Response, text: string): AgentHttpError {
  const { code, message } = errorBody(text);
  const said = message !== null ? `: ${message}` : '';
  const status = res.status;
  if (status === 401 || status === 403)
    return new AgentHttpError(
      `the server refused the agent's token (HTTP ${status})${said}; check --token or OTTO_AGENT_TOKEN, and that the token has the agent role`,
      'auth',
      status,
      code,
    );
  if (status >= 300 && status < 400) {
    const to = res.headers.get('location');
    return new AgentHttpError(
      `${route}: the server redirects (HTTP ${status}${to ? ` to ${to}` : ''}); give the agent the final URL`,
      'rejected',
      status,
      code,
    );
  }
  if (status === 404 || status === 410)
    return new AgentHttpError(`${route}: HTTP ${status}${said}`, 'unknown', status, code);
  const retry = status >= 500 || status === 408 || status === 429;
  return new AgentHttpError(
    `${route}: HTTP ${status}${said}`,
    retry ? 'server' : 'rejected',
    status,
    code,
  );
}

/** `{error: {code, message}}` as DESIGN §6 has every JSON error, or the first line of the body. */
function errorBody(text: string): { code: string | null; message: string | null } {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : null;
    const message = typeof body.error?.message === 'string' ? body.error.message : null;
    if (code !== null || message !== null) return { code, message };
  } catch {
    // not JSON: a proxy's page, say
  }
  const line = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return { code: null, message: line === '' ? null : line };
}

/** Any failure as an AgentHttpError; an unexpected one counts as the server's (and is retried). */
export function asHttpError(e: unknown): AgentHttpError {
  if (e instanceof AgentHttpError) return e;
  return new AgentHttpError(e instanceof Error ? e.message : String(e), 'server', null, null, {
    cause: e,
  });
}
