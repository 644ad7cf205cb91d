// docs/api.md is generated from the OpenAPI document (npm run docs), and the token each route is
// documented to need is the token it really asks for (checked in-process with app.inject).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashApiToken } from '../../src/server/auth.js';
import {
  apiRoutes,
  NO_TOKEN,
  openApiApp,
  renderApiDoc,
  SUCCESS,
  type DocApp,
  type Route,
  type RouteAuth,
} from '../../src/server/openapi-doc.js';
import type { Role } from '../../src/store/types.js';
import { repoRoot } from '../helpers.js';

let doc: DocApp;
const tokens: Partial<Record<Role, string>> = {};

before(async () => {
  doc = await openApiApp();
  for (const role of ['viewer', 'operator', 'admin', 'agent'] as const) {
    const token = `otto_test_${role}`;
    await doc.context.store.createToken({
      name: `${role}-test`,
      role,
      hash: hashApiToken(token),
      at: Date.now(),
    });
    tokens[role] = token;
  }
});

after(async () => {
  await doc.close();
});

test('docs/api.md is generated from the OpenAPI document (npm run docs)', () => {
  const text = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
  assert.equal(text, renderApiDoc(doc.app.swagger()), 'docs/api.md is stale: run `npm run docs`');
});

test('every route has a section, and the notes name only routes that exist', () => {
  const text = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
  const keys = apiRoutes(doc.app.swagger()).map((r) => `${r.method} ${r.path}`);
  assert.ok(keys.length >= 25, `only ${keys.length} routes in the OpenAPI document`);
  for (const k of keys)
    assert.ok(text.includes(`### \`${k}\``), `docs/api.md has no section for ${k}`);
  for (const k of [...Object.keys(NO_TOKEN), ...Object.keys(SUCCESS)])
    assert.ok(keys.includes(k), `openapi-doc.ts describes ${k}, which is not a route`);
});

/**
 * A request that reaches each route's handler: valid parameters and body, for a project and a run
 * that do not exist (so nothing is fetched or started). Every route needs one here.
 */
const SAMPLES: Record<string, { url: string; body?: unknown }> = {
  'POST /api/v1/projects': {
    url: '/api/v1/projects',
    body: { name: 'doc-test', repo: '/nonexistent/repo' },
  },
  'GET /api/v1/projects': { url: '/api/v1/projects' },
  'GET /api/v1/projects/{name}': { url: '/api/v1/projects/nope' },
  'PUT /api/v1/projects/{name}/secrets/{key}': {
    url: '/api/v1/projects/nope/secrets/TOKEN',
    body: { value: 'secret-value' },
  },
  'GET /api/v1/projects/{name}/secrets': { url: '/api/v1/projects/nope/secrets' },
  'DELETE /api/v1/projects/{name}/secrets/{key}': { url: '/api/v1/projects/nope/secrets/TOKEN' },
  'POST /api/v1/projects/{name}/runs': { url: '/api/v1/projects/nope/runs', body: {} },
  'GET /api/v1/me': { url: '/api/v1/me' },
  'GET /api/v1/projects/{name}/plan': { url: '/api/v1/projects/nope/plan' },
  'POST /api/v1/runs/{id}/rerun': { url: '/api/v1/runs/999/rerun', body: {} },
  'GET /api/v1/runs': { url: '/api/v1/runs' },
  'GET /api/v1/runs/{id}': { url: '/api/v1/runs/999' },
  'GET /api/v1/runs/{id}/plan': { url: '/api/v1/runs/999/plan' },
  'POST /api/v1/runs/{id}/cancel': { url: '/api/v1/runs/999/cancel' },
  'GET /api/v1/runs/{id}/artifacts': { url: '/api/v1/runs/999/artifacts' },
  'GET /api/v1/runs/{id}/artifacts/{name}': { url: '/api/v1/runs/999/artifacts/site' },
  'GET /api/v1/runs/{id}/stages/{*}': { url: '/api/v1/runs/999/stages/Deploy/Production/logs' },
  'POST /api/v1/runs/{id}/stages/{*}': { url: '/api/v1/runs/999/stages/Deploy/approve', body: {} },
  'POST /api/v1/callbacks/{token}': {
    url: '/api/v1/callbacks/AAAAAAAAAAAAAAAAAAAA',
    body: { status: 'success' },
  },
  'GET /api/v1/events': { url: '/api/v1/events?run=999' },
  'GET /api/v1/events/runs': { url: '/api/v1/events/runs?project=nope' },
  'GET /api/v1/agents': { url: '/api/v1/agents' },
  'POST /api/v1/agent/register': {
    url: '/api/v1/agent/register',
    body: { protocol: 0, name: 'doc-test', labels: [], capabilities: [], maxJobs: 1, version: '0' },
  },
  'POST /api/v1/agent/claim': {
    url: '/api/v1/agent/claim',
    body: { agentId: 'nobody', free: 1, waitMs: 0 },
  },
  'POST /api/v1/agent/jobs/{jobId}/events': {
    url: '/api/v1/agent/jobs/999%2FBuild%231/events',
    body: { agentId: 'nobody', events: [] },
  },
  'POST /api/v1/agent/heartbeat': {
    url: '/api/v1/agent/heartbeat',
    body: { agentId: 'nobody', jobs: [] },
  },
  'GET /api/v1/health': { url: '/api/v1/health' },
  'GET /metrics': { url: '/metrics' },
  'GET /api/v1/deployments': { url: '/api/v1/deployments' },
  'GET /api/v1/environments/{env}/metrics': { url: '/api/v1/environments/staging/metrics' },
  'GET /api/v1/audit': { url: '/api/v1/audit' },
  'POST /api/v1/hooks/{forge}': { url: '/api/v1/hooks/github?project=nope', body: { zen: 'hi' } },
};

/** A token one step too weak for a role. */
const WEAKER: Record<Exclude<RouteAuth, 'none'>, Role> = {
  viewer: 'agent',
  operator: 'viewer',
  admin: 'operator',
  agent: 'viewer',
};

async function call(route: Route, token: string | undefined): Promise<number> {
  const sample = SAMPLES[`${route.method} ${route.path}`]!;
  const res = await doc.app.inject({
    method: route.method as 'GET',
    url: sample.url,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(sample.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(sample.body !== undefined ? { payload: JSON.stringify(sample.body) } : {}),
  });
  return res.statusCode;
}

test('each route asks for the token docs/api.md says it does', async () => {
  const routes = apiRoutes(doc.app.swagger());
  const missing = routes
    .map((r) => `${r.method} ${r.path}`)
    .filter((k) => SAMPLES[k] === undefined);
  assert.deepEqual(missing, [], 'add a sample request for each new route to SAMPLES');
  for (const route of routes) {
    const what = `${route.method} ${route.path} (documented: ${route.auth})`;
    const anonymous = await call(route, undefined);
    const security = (route.operation as { security?: unknown[] }).security;
    assert.equal(
      Array.isArray(security) && security.length === 0,
      route.auth === 'none',
      `${what}: the OpenAPI operation must say security: [] exactly when the route takes no token`,
    );
    if (route.auth === 'none') {
      assert.notEqual(anonymous, 401, `${what} refused a request without a token`);
      continue;
    }
    assert.equal(anonymous, 401, `${what} answered ${anonymous} without a token`);
    assert.equal(
      await call(route, tokens[WEAKER[route.auth]]),
      403,
      `${what} let a ${WEAKER[route.auth]} token through`,
    );
    const own = await call(route, tokens[route.auth]);
    assert.ok(own !== 401 && own !== 403, `${what} refused a ${route.auth} token (${own})`);
  }
});
