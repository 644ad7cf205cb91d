// Projects and their secrets.

import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { seal, secretScope } from '../../util/secret-box.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Name, ProjectInput, ProjectName, SecretInput } from '../schemas.js';
import { projectView } from './views.js';

export function projectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: Static<typeof ProjectInput> }>('/api/v1/projects', { schema: { tags: ['projects'], summary: 'Create a project (admin)', body: ProjectInput } }, async (request, reply) => {
    const who = await authorize(ctx.store, request, 'admin');
    const b = request.body;
    if (await ctx.store.getProject(b.name)) throw new ApiError('conflict', `a project named '${b.name}' exists`);
    const webhookSecret = b.webhookSecret ? seal(ctx.secretKey(), secretScope(b.name, '', '__webhook__'), b.webhookSecret) : '';
    const record = { name: b.name, repo: b.repo, pipeline: b.pipeline ?? 'Ottofile', defaultBranch: b.defaultBranch ?? 'main', webhookSecret, createdAt: Date.now() };
    await ctx.store.createProject(record);
    await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: 'project.created', target: `project:${b.name}`, details: { repo: b.repo } });
    return reply.status(201).send(projectView(record));
  });

  app.get('/api/v1/projects', { schema: { tags: ['projects'], summary: 'List projects, each with its latest runs' } }, async (request) => {
    await authorize(ctx.store, request, 'viewer');
    const out = [];
    for (const p of await ctx.store.listProjects()) {
      const runs = await ctx.store.listRuns({ project: p.name, limit: 5 });
      out.push({ ...projectView(p), latestRuns: runs.map((r) => ({ id: r.id, status: r.status, branch: r.trigger.branch, createdAt: new Date(r.createdAt).toISOString() })) });
    }
    return { projects: out };
  });

  app.get<{ Params: Static<typeof ProjectName> }>('/api/v1/projects/:name', { schema: { tags: ['projects'], summary: 'One project', params: ProjectName } }, async (request) => {
    await authorize(ctx.store, request, 'viewer');
    const p = await ctx.store.getProject(request.params.name);
    if (!p) throw new ApiError('not_found', `there is no project '${request.params.name}'`);
    return projectView(p);
  });

  app.put<{ Params: { name: string; key: string }; Body: Static<typeof SecretInput> }>(
    '/api/v1/projects/:name/secrets/:key',
    {
      schema: {
        tags: ['projects'],
        summary: 'Set a secret (admin; write-only: values are never returned)',
        params: { type: 'object', properties: { name: Name, key: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }, required: ['name', 'key'] },
        body: SecretInput,
      },
    },
    async (request, reply) => {
      const who = await authorize(ctx.store, request, 'admin');
      const { name, key } = request.params;
      if (!(await ctx.store.getProject(name))) throw new ApiError('not_found', `there is no project '${name}'`);
      const env = request.body.environment ?? '';
      await ctx.store.putSecret(name, env, key, seal(ctx.secretKey(), secretScope(name, env, key), request.body.value), Date.now());
      await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: 'secret.set', target: `project:${name}`, details: { name: key, environment: env } });
      return reply.status(204).send();
    },
  );

  app.delete<{ Params: { name: string; key: string }; Querystring: { environment?: string } }>(
    '/api/v1/projects/:name/secrets/:key',
    {
      schema: {
        tags: ['projects'],
        summary: 'Remove a secret (admin); ?environment=ENV removes the one bound to that environment',
        params: { type: 'object', properties: { name: Name, key: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }, required: ['name', 'key'] },
        querystring: { type: 'object', properties: { environment: { type: 'string', minLength: 1, maxLength: 100 } }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const who = await authorize(ctx.store, request, 'admin');
      const { name, key } = request.params;
      if (!(await ctx.store.getProject(name))) throw new ApiError('not_found', `there is no project '${name}'`);
      const env = request.query.environment ?? '';
      if (!(await ctx.store.deleteSecret(name, env, key))) {
        throw new ApiError('not_found', `project '${name}' has no secret ${key}${env ? ` for environment '${env}'` : ''}`);
      }
      await ctx.store.appendAudit({ at: Date.now(), actor: who.actor, action: 'secret.removed', target: `project:${name}`, details: { name: key, environment: env } });
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Static<typeof ProjectName> }>('/api/v1/projects/:name/secrets', { schema: { tags: ['projects'], summary: 'Secret names (admin)', params: ProjectName } }, async (request) => {
    await authorize(ctx.store, request, 'admin');
    const list = await ctx.store.listSecrets(request.params.name);
    return { secrets: list.map((s) => ({ name: s.name, environment: s.environment || null, updatedAt: new Date(s.updatedAt).toISOString() })) };
  });
}
