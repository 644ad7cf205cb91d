// HTTP helpers for the `otto serve` integration tests: JSON requests with a bearer token, the two
// streams (followed logs and server-sent events) read with bounded waits, and signed webhooks.

import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { waitFor } from '../cli/run-helpers.js';

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** JSON over HTTP with a bearer token (or none); every request gives up after 15 s. */
export class Api {
  constructor(
    readonly base: string,
    readonly token: string | null,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<Reply> {
    const init: RequestInit = {
      method,
      headers: this.headers(extra),
      signal: AbortSignal.timeout(15_000),
    };
    if (body !== undefined) {
      init.body =
        typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body);
      init.headers = this.headers({ 'content-type': 'application/json', ...extra });
    }
    const res = await fetch(`${this.base}${path}`, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, headers: res.headers, json };
  }

  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown = {}, extra: Record<string, string> = {}): Promise<Reply> {
    return this.request('POST', path, body, extra);
  }

  async run(id: string): Promise<RunView> {
    const r = await this.get(`/api/v1/runs/${id}`);
    if (r.status !== 200) throw new Error(`GET run ${id}: ${r.status} ${r.text}`);
    return r.json as RunView;
  }

  async trigger(project: string, body: Record<string, unknown> = {}): Promise<RunView> {
    const r = await this.post(`/api/v1/projects/${project}/runs`, body);
    if (r.status !== 201) throw new Error(`trigger ${project}: ${r.status} ${r.text}`);
    return r.json as RunView;
  }

  /** Waits until the run has ended (or `until` holds), `timeoutMs` at most. */
  async waitRun(
    id: string,
    until: (r: RunView) => boolean = (r) => ENDED.includes(r.status),
    timeoutMs = 30_000,
  ): Promise<RunView> {
    let last: RunView | undefined;
    try {
      return await waitFor(
        `run ${id}`,
        async () => {
          last = await this.run(id);
          return until(last) ? last : undefined;
        },
        timeoutMs,
        100,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: e });
    }
  }

  async logs(id: string, stage: string): Promise<string> {
    const r = await this.get(`/api/v1/runs/${id}/stages/${encodeURIComponent(stage)}/logs`);
    if (r.status !== 200) throw new Error(`logs of ${id}/${stage}: ${r.status} ${r.text}`);
    return r.text;
  }

  async events(id: string): Promise<SseEvent[]> {
    return readSse(this, id, {
      until: (_e, all) => ENDED.includes(all.at(-1)?.data.run?.status ?? ''),
      timeoutMs: 5000,
      idleMs: 1500,
    });
  }
}

export const ENDED = ['succeeded', 'failed', 'cancelled', 'invalid'];

export interface StageView {
  path: string;
  status: string;
  attempt: number;
  message: string;
  exitCode: number | null;
}

export interface RunView {
  id: string;
  status: string;
  message: string;
  trigger: { event: string; branch: string; sha: string; actor: string };
  stages: StageView[];
  gates?: Array<Record<string, unknown>>;
}

export function stageOf(run: RunView, path: string): StageView {
  const s = run.stages.find((x) => x.path === path);
  if (!s) throw new Error(`run ${run.id} has no stage ${path}: ${JSON.stringify(run.stages)}`);
  return s;
}

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly data: any;
}

/**
 * Reads /api/v1/events?run=ID (or `path`) until `until` holds, the stream has been idle `idleMs`,
 * or `timeoutMs` passed; then closes the connection and returns what arrived. `opened` is called
 * once the server has answered.
 */
export async function readSse(
  api: Api,
  runId: string,
  options: {
    lastEventId?: string;
    until?: (e: SseEvent, all: SseEvent[]) => boolean;
    timeoutMs?: number;
    idleMs?: number;
    status?: (s: number) => void;
    path?: string;
    opened?: () => void;
  } = {},
): Promise<SseEvent[]> {
  const ac = new AbortController();
  const overall = setTimeout(() => ac.abort(), options.timeoutMs ?? 10_000);
  const events: SseEvent[] = [];
  let idle: NodeJS.Timeout | undefined;
  const bump = (): void => {
    if (options.idleMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => ac.abort(), options.idleMs);
  };
  try {
    const res = await fetch(`${api.base}${options.path ?? `/api/v1/events?run=${runId}`}`, {
      headers: api.headers(
        options.lastEventId !== undefined ? { 'last-event-id': options.lastEventId } : {},
      ),
      signal: ac.signal,
    });
    options.status?.(res.status);
    options.opened?.();
    if (res.status !== 200 || !res.body) {
      await res.text().catch(() => '');
      return events;
    }
    bump();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bump();
      buf += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        let id: string | undefined;
        let event: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        const e: SseEvent = { id, event, data: JSON.parse(data.join('\n')) };
        events.push(e);
        if (options.until?.(e, events)) {
          ac.abort();
          return events;
        }
      }
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(overall);
    clearTimeout(idle);
    ac.abort();
  }
  return events;
}

/** Follows a stage's log (?follow=1) to its end, `timeoutMs` at most; `ended` says whether the server closed it. */
export async function followLogs(
  api: Api,
  runId: string,
  stage: string,
  timeoutMs = 20_000,
): Promise<{ status: number; text: string; ended: boolean }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let text = '';
  let status = 0;
  try {
    const res = await fetch(
      `${api.base}/api/v1/runs/${runId}/stages/${encodeURIComponent(stage)}/logs?follow=1`,
      { headers: api.headers(), signal: ac.signal },
    );
    status = res.status;
    if (!res.body) return { status, text: await res.text(), ended: true };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return { status, text, ended: true };
  } catch (e) {
    if (ac.signal.aborted) return { status, text, ended: false };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A GitHub push webhook: the body and its headers, signed with `secret` (sha256 HMAC). */
export function githubPush(
  secret: string,
  p: { ref: string; after: string; before: string; repo: string },
  sign = true,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    ref: p.ref,
    before: p.before,
    after: p.after,
    deleted: false,
    repository: { clone_url: p.repo, full_name: 'test/repo' },
    head_commit: { id: p.after },
  });
  const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': `d-${Date.now()}`,
      ...(sign ? { 'x-hub-signature-256': sig } : {}),
    },
  };
}

/** A GitLab push webhook with its X-Gitlab-Token. */
export function gitlabPush(
  token: string,
  p: { ref: string; after: string; before: string; repo: string },
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    object_kind: 'push',
    ref: p.ref,
    before: p.before,
    after: p.after,
    checkout_sha: p.after,
    project: { path_with_namespace: 'test/repo', git_http_url: p.repo },
    repository: { git_http_url: p.repo },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': 'Push Hook',
      'x-gitlab-token': token,
    },
  };
}

/** POSTs raw bytes (webhooks sign the exact body). */
export async function postRaw(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, headers: res.headers, json };
}

/** The agent that ran a stage, from the `stage.dispatched` events (last attempt wins). */
export function dispatchedTo(events: readonly SseEvent[], stage: string): string[] {
  return events
    .filter((e) => e.event === 'stage.dispatched' && e.data.data?.stage === stage)
    .map((e) => e.data.data.agent as string);
}

/**
 * POSTs a large body with node:http and keeps the answer even when the server stops reading and
 * closes the connection before the upload ends (its early 413 would otherwise be lost to EPIPE).
 */
export function postLarge(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: 15_000,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', () => undefined);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, text, headers: h, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => {
      // A write error after the answer arrived is the server refusing the rest: keep the answer.
      if (!answered) setTimeout(() => (answered ? undefined : reject(e)), 500);
    });
    req.end(body);
  });
}
