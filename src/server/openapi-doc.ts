// Generates docs/api.md from the server's OpenAPI document: every route with its auth role,
// parameters and request body, the error shape and the status codes.

import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SqliteStore } from '../store/index.js';
import { buildApp } from './app.js';
import type { ServerContext } from './context.js';
import { RemoteDispatcher } from './dispatcher.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { RunBus } from './event-bus.js';
import { Metrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import { Sources } from './source.js';
import { DEFAULT_KEEP_WORKSPACES } from '../engine/workspace-retention.js';

/** The application with an in-memory store and nothing listening: enough for `app.swagger()` and `app.inject()`. */
export interface DocApp {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  close(): Promise<void>;
}

export async function openApiApp(version = '0.0.0'): Promise<DocApp> {
  const store = new SqliteStore(':memory:');
  const dispatcher = new RemoteDispatcher({ store, agentTimeoutMs: 30_000 });
  const bus = new RunBus();
  const key = randomBytes(32);
  // Never written: building the app triggers nothing, so no repository is fetched.
  const dataDir = join(tmpdir(), 'otto-api-doc');
  const scheduler = new Scheduler({
    store,
    dispatcher,
    sources: new Sources(dataDir),
    bus,
    dataDir,
    owner: 'api-doc',
    publicUrl: () => 'http://127.0.0.1:7070',
    secretKey: () => key,
    graceMs: 0,
    log: () => undefined,
  });
  const context: ServerContext = {
    store,
    scheduler,
    dispatcher,
    bus,
    secretKey: () => key,
    metrics: new Metrics(),
    settings: { heartbeatMs: 5000, claimWaitMs: 25_000, version, keepWorkspaces: DEFAULT_KEEP_WORKSPACES },
  };
  // The artifact routes exist only with an object store; nothing is read from it here.
  const app = await buildApp(context, { objectsDir: join(dataDir, 'objects') });
  await app.ready();
  return {
    app,
    context,
    async close() {
      await dispatcher.close();
      await app.close();
      await scheduler.stop();
      await store.close();
    },
  };
}

export type RouteAuth = 'none' | 'viewer' | 'operator' | 'admin' | 'agent';

/**
 * Routes whose handlers never ask for a bearer token, and what stands in for one. Everything else
 * takes `Authorization: Bearer <token>`; test/server/api-doc.test.ts checks both sides.
 */
export const NO_TOKEN: Readonly<Record<string, string>> = {
  'GET /api/v1/health': 'none: a liveness probe',
  'GET /metrics': 'none: meant for a Prometheus scraper (keep it off public networks)',
  'POST /api/v1/callbacks/{token}': 'none: the single-use token in the URL is the credential',
  'POST /api/v1/hooks/{forge}':
    "none: the request's signature (GitLab: its token) must match the project's webhook secret",
};

/** What answers a successful request, where it is not simply 200 with JSON. */
export const SUCCESS: Readonly<Record<string, string>> = {
  'POST /api/v1/projects': '201 with the project',
  'PUT /api/v1/projects/{name}/secrets/{key}':
    '204, no body; the value is never returned by any route',
  'DELETE /api/v1/projects/{name}/secrets/{key}': '204, no body; 404 when there is no such secret',
  'POST /api/v1/projects/{name}/runs':
    '201 with the run and its stages; an invalid pipeline still gives 201, a run with status `invalid` and its `diagnostics`',
  'GET /api/v1/projects/{name}/plan':
    '200 `{"plan", "diagnostics"}`; `plan` is absent when the pipeline is invalid',
  'POST /api/v1/runs/{id}/rerun': '201 with the new run',
  'GET /api/v1/runs':
    '200 `{"runs", "next"}`; `next` is the `before` value of the next page, or null',
  'GET /api/v1/runs/{id}':
    '200 with the run, its stages and `gates` (decisions taken, and the gate a stage waits at)',
  'GET /api/v1/runs/{id}/artifacts': '200 `{"artifacts": [{"name", "files", "size", "digest"}]}`',
  'GET /api/v1/runs/{id}/artifacts/{name}':
    "200 `application/gzip`: a tar of the artifact's files, named `NAME.tar.gz`; 400 for a name that is not one path segment",
  'POST /api/v1/runs/{id}/cancel': '202 `{"id", "status": "cancelling"}`',
  'GET /api/v1/runs/{id}/stages/{*}':
    '200 `text/plain`: the log of the stage whose path precedes `/logs` (`…/stages/Deploy/Production/logs`); `?attempt=N` for one attempt; with `?follow=1` it streams until the stage ends',
  'POST /api/v1/runs/{id}/stages/{*}':
    '202 `{"id", "stage", "decision", "actor"}` for `…/stages/PATH/approve` or `…/stages/PATH/reject`; the body may hold `{"comment": "…"}` (up to 2000 characters) and, to decide a webhook or poll gate in place of its system, `"override": true` (the actor is then `NAME (override)`)',
  'POST /api/v1/callbacks/{token}':
    '200 `{"ok": true, "run", "stage", "decision"}` (`passed` or `failed`)',
  'GET /api/v1/events':
    '200 `text/event-stream`: one message per run event, `id` its sequence number, `event` its type, `data` `{"seq", "type", "at", "data", "run", "stages"}`',
  'GET /api/v1/events/runs':
    '200 `text/event-stream`: `event: runs`, `data` `{"runs": [ID, …]}` when runs change (not for log lines); 404 for a project that does not exist',
  'GET /metrics': '200, the Prometheus text format',
  'GET /api/v1/deployments': '200 `{"current", "history"}`',
  'POST /api/v1/hooks/{forge}':
    '201 `{"triggered": true, "run"}` when a run starts; 202 `{"triggered": false, "reason"}` when the event or the pipeline\'s `triggers` want none',
};

const ERROR_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  bad_request:
    "the request does not match the route's schema (a missing, unknown or malformed field), the body is not JSON, or the pipeline cannot be planned for the request",
  unauthorized: 'no token, or an unknown or revoked one; a webhook whose signature does not match',
  forbidden:
    "the token's role is too weak for the route, or its name is not among a gate's approvers",
  not_found: 'no such route, project, run, stage or callback token',
  conflict:
    'the state does not allow it: a project name that is taken, a run that has ended, a stage that is not waiting for a person',
  gone: 'an agent the server does not know (it restarted or forgot it): the agent registers again',
  token_used: 'a callback token that has been used already (each works once)',
  too_large: 'the body is over the limit: 1 MiB, 5 MiB for webhooks, 64 MiB for agent events',
  unprocessable:
    'the repository cannot be cloned or fetched, or the branch, tag or commit is not in it',
  internal: 'a bug in Otto; the server log has the details',
  unavailable: 'reserved; no route answers with it today',
};

const ROLE_TEXT: Readonly<Record<RouteAuth, string>> = {
  none: 'no token',
  viewer: 'viewer',
  operator: 'operator',
  admin: 'admin',
  agent: 'agent',
};

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  description?: string;
};

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  description?: string;
}

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
}

interface Document {
  paths?: Record<string, Record<string, Operation>>;
}

export interface Route {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly operation: Operation;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every method of every path, in the document's order. */
export function apiRoutes(openapi: object): Route[] {
  const doc = openapi as Document;
  const out: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [m, operation] of Object.entries(item)) {
      if (!METHODS.includes(m)) continue;
      const method = m.toUpperCase();
      const summary = summaryFor(method, operation.summary ?? '');
      out.push({
        method,
        path,
        summary,
        tag: operation.tags?.[0] ?? 'other',
        auth: authOf(method, path, summary, operation),
        operation,
      });
    }
  }
  return out;
}

/** A summary that describes several methods ("GET … , POST …") is split: each method gets its part. */
function summaryFor(method: string, summary: string): string {
  const marks = [...summary.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) /g)];
  if (new Set(marks.map((m) => m[1])).size < 2) return summary;
  const i = marks.findIndex((m) => m[1] === method);
  if (i < 0) return summary;
  const start = marks[i]!.index;
  const end = marks[i + 1]?.index ?? summary.length;
  return summary.slice(start, end).replace(/[,;\s]+$/, '');
}

/**
 * The role a route needs: none for the routes in NO_TOKEN; the role the summary names in
 * parentheses ("(operator)", "(admin; …)", "(agent role)"); agent for the agent protocol; else viewer.
 */
function authOf(method: string, path: string, summary: string, operation: Operation): RouteAuth {
  if (NO_TOKEN[`${method} ${path}`] !== undefined) return 'none';
  const named = /\((admin|operator|viewer|agent)(?: role)?[;)]/.exec(summary);
  if (named) return named[1] as RouteAuth;
  if (operation.tags?.includes('agent protocol')) return 'agent';
  return 'viewer';
}

/** GitHub's heading anchor for a route heading. */
function anchor(route: Route): string {
  return `${route.method} ${route.path}`
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/** Text safe in markdown: no HTML tags by accident (`before=<id>`). */
function prose(text: string): string {
  return text.replace(/</g, '&lt;');
}

function cell(text: string): string {
  return prose(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(s: Schema | undefined): string {
  if (!s) return 'any';
  if (s.anyOf) {
    const values = s.anyOf.flatMap((x) => x.enum ?? []);
    if (values.length === s.anyOf.length) return 'string';
    return s.anyOf.map(typeOf).join(' or ');
  }
  if (s.type === 'array') return `array of ${plural(typeOf(s.items))}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object')
    return `object of ${plural(typeOf(s.additionalProperties))}`;
  return s.type ?? 'any';
}

function plural(type: string): string {
  return /^(string|integer|number|boolean|object)$/.test(type) ? `${type}s` : type;
}

function constraints(s: Schema | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  const values =
    s.enum ??
    (s.anyOf && s.anyOf.every((x) => x.enum) ? s.anyOf.flatMap((x) => x.enum ?? []) : undefined);
  if (values) out.push(`one of ${values.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (s.pattern !== undefined) out.push(`matches \`${s.pattern}\``);
  if (s.minLength !== undefined && s.maxLength !== undefined)
    out.push(`${s.minLength}–${s.maxLength} characters`);
  else if (s.minLength !== undefined)
    out.push(`at least ${s.minLength} character${s.minLength === 1 ? '' : 's'}`);
  else if (s.maxLength !== undefined) out.push(`at most ${s.maxLength} characters`);
  if (s.minimum !== undefined && s.maximum !== undefined) out.push(`${s.minimum}–${s.maximum}`);
  else if (s.minimum !== undefined) out.push(`at least ${s.minimum}`);
  else if (s.maximum !== undefined) out.push(`at most ${s.maximum}`);
  if (s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    const inner = constraints(s.additionalProperties);
    if (inner.length) out.push(`values: ${inner.join(', ')}`);
  }
  if (s.description) out.push(s.description);
  return out;
}

/** The fields of a body schema, nested objects and arrays of objects flattened to `a.b` and `a[].b`. */
function fields(
  schema: Schema,
  prefix = '',
): Array<{ name: string; type: string; required: boolean; notes: string }> {
  const out: Array<{ name: string; type: string; required: boolean; notes: string }> = [];
  const required = new Set(schema.required ?? []);
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const full = `${prefix}${name}`;
    out.push({
      name: full,
      type: typeOf(s),
      required: required.has(name),
      notes: constraints(s).join('; '),
    });
    if (s.type === 'object' && s.properties) out.push(...fields(s, `${full}.`));
    if (s.type === 'array' && s.items?.type === 'object' && s.items.properties)
      out.push(...fields(s.items, `${full}[].`));
  }
  return out;
}

function tokenText(route: Route): string {
  switch (route.auth) {
    case 'none':
      return NO_TOKEN[`${route.method} ${route.path}`] ?? 'none';
    case 'agent':
      return 'the agent role (or admin)';
    case 'admin':
      return 'admin';
    default:
      return `${route.auth} or higher`;
  }
}

function renderRoute(route: Route): string[] {
  const out: string[] = [];
  const key = `${route.method} ${route.path}`;
  out.push(`### \`${key}\``);
  out.push('');
  if (route.summary)
    out.push(prose(route.summary.endsWith('.') ? route.summary : `${route.summary}.`));
  out.push('');
  out.push(`- **Token:** ${tokenText(route)}`);
  out.push(`- **Success:** ${SUCCESS[key] ?? '200 with JSON'}`);
  out.push('');
  const params = route.operation.parameters ?? [];
  if (params.length) {
    out.push('| parameter | in | type | required | notes |');
    out.push('|---|---|---|---|---|');
    for (const p of params) {
      const notes = constraints(p.schema);
      if (p.description && !notes.includes(p.description)) notes.push(p.description);
      out.push(
        `| \`${p.name}\` | ${p.in} | ${typeOf(p.schema)} | ${p.required ? 'yes' : 'no'} | ${cell(notes.join('; '))} |`,
      );
    }
    out.push('');
  }
  const content = route.operation.requestBody?.content ?? {};
  for (const [type, { schema }] of Object.entries(content)) {
    if (!schema) continue;
    const list = fields(schema);
    const closed = schema.additionalProperties === false ? '; other fields are refused' : '';
    if (list.length === 0) {
      out.push(`Request body (\`${type}\`): ${typeOf(schema)}${closed}.`);
      out.push('');
      continue;
    }
    out.push(`Request body (\`${type}\`)${closed}:`);
    out.push('');
    out.push('| field | type | required | notes |');
    out.push('|---|---|---|---|');
    for (const f of list)
      out.push(`| \`${f.name}\` | ${f.type} | ${f.required ? 'yes' : 'no'} | ${cell(f.notes)} |`);
    out.push('');
  }
  return out;
}

export function renderApiDoc(openapi: object): string {
  const routes = apiRoutes(openapi);
  const out: string[] = [];
  out.push('# The HTTP API');
  out.push('');
  out.push(
    '<!-- Generated from the OpenAPI document by `npm run docs` (scripts/gen-api-doc.mjs, src/server/openapi-doc.ts); test/server/api-doc.test.ts keeps the two equal. Do not edit by hand. -->',
  );
  out.push('');
  out.push(
    '`otto serve` ([server.md](server.md)) answers under `/api/v1`. Requests and responses are JSON unless a route says otherwise. The same routes are described by an OpenAPI 3.0 document at `GET /api/v1/openapi.json`, which needs no token; this page is generated from it.',
  );
  out.push('');
  out.push('## Tokens and roles');
  out.push('');
  out.push(
    'Send `Authorization: Bearer <token>`; create tokens with `otto token create --role ROLE` ([server.md](server.md#tokens-and-roles)). Roles are ordered: **viewer** reads, **operator** also triggers, cancels, reruns and decides gates, **admin** also manages projects, secrets and the audit log. The **agent** role is only for `otto agent`: it may use the agent protocol (as may admin) and nothing else. Each route below names the least role it needs; a few take no token.',
  );
  out.push('');
  out.push('## Errors and status codes');
  out.push('');
  out.push('Every error is JSON of one shape, never a stack trace:');
  out.push('');
  out.push('```json');
  out.push('{"error": {"code": "not_found", "message": "there is no run \'42\'"}}');
  out.push('```');
  out.push('');
  out.push('`code` is stable and meant for programs; `message` is for people.');
  out.push('');
  out.push('| status | code | when |');
  out.push('|---|---|---|');
  for (const [code, status] of Object.entries(ERROR_CODES) as Array<[ErrorCode, number]>)
    out.push(`| ${status} | \`${code}\` | ${cell(ERROR_MEANINGS[code])} |`);
  out.push('');
  out.push(
    'Successful requests answer 200, or as the route says: 201 when something was created (a project, a run), 202 when a request was accepted and takes effect in the run (a cancel, a gate decision), 204 with no body.',
  );
  out.push('');
  out.push('## Routes');
  out.push('');
  out.push('| method | path | token | summary |');
  out.push('|---|---|---|---|');
  for (const r of routes)
    out.push(
      `| ${r.method} | [\`${r.path}\`](#${anchor(r)}) | ${ROLE_TEXT[r.auth]} | ${cell(r.summary)} |`,
    );
  out.push('');
  const tags: string[] = [];
  for (const r of routes) if (!tags.includes(r.tag)) tags.push(r.tag);
  for (const tag of tags) {
    out.push(`## ${tag[0]!.toUpperCase()}${tag.slice(1)}`);
    out.push('');
    for (const r of routes.filter((x) => x.tag === tag)) out.push(...renderRoute(r));
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
