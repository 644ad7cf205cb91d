// POST /api/v1/hooks/github|gitea|gitlab: verified git events that may trigger runs.

import type { FastifyInstance } from 'fastify';
import { open, secretScope } from '../../util/secret-box.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { NotTriggered } from '../scheduler.js';
import { matchTriggers, parseHook, verifyHook, type Forge } from '../webhooks.js';
import { runView } from './views.js';

export function hookRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // The signature covers the exact bytes: keep the body raw here and parse it ourselves.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { forge: string }; Querystring: { project?: string } }>(
      '/api/v1/hooks/:forge',
      {
        schema: {
          tags: ['triggers'],
          summary: 'A git webhook (push, tag, pull request) from GitHub, Gitea or GitLab, verified against the project’s webhook secret; ?project=NAME or matched by repository',
          params: { type: 'object', properties: { forge: { type: 'string', enum: ['github', 'gitea', 'gitlab'] } }, required: ['forge'] },
          querystring: { type: 'object', properties: { project: { type: 'string' } } },
          // Verified by the forge's signature, not a token.
          security: [],
        },
      },
      async (request, reply) => {
        const forge = request.params.forge as Forge;
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from('');
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString('utf8') || '{}');
        } catch {
          throw new ApiError('bad_request', 'the webhook body is not JSON');
        }
        const probe = parseHook(forge, request.headers, payload);
        const projects = await ctx.store.listProjects();
        const project = request.query.project
          ? projects.find((p) => p.name === request.query.project)
          : projects.find((p) => p.repo === probe.repository || p.repo.replace(/\.git$/, '').endsWith(`/${probe.repository.replace(/\.git$/, '')}`));
        if (!project) throw new ApiError('not_found', request.query.project ? `there is no project '${request.query.project}'` : `no project has the repository '${probe.repository}': add ?project=NAME to the webhook URL`);
        const secret = project.webhookSecret ? open(ctx.secretKey(), secretScope(project.name, '', '__webhook__'), project.webhookSecret) : undefined;
        if (!secret) throw new ApiError('unauthorized', `project '${project.name}' has no webhook secret: set one when creating the project`);
        if (!verifyHook(forge, request.headers, raw, secret)) {
          throw new ApiError('unauthorized', forge === 'gitlab' ? 'the X-Gitlab-Token does not match the project’s webhook secret' : 'the signature does not match the project’s webhook secret');
        }
        const actor = `${forge} webhook`;
        if (probe.event === 'ping' || probe.event === 'other' || probe.deleted) {
          return reply.status(202).send({ triggered: false, reason: matchTriggers({ declared: false, push: null, pullRequest: null, tag: null, cron: [], manual: true, api: true }, probe, []).reason });
        }
        await ctx.store.appendAudit({ at: Date.now(), actor, action: 'webhook.received', target: `project:${project.name}`, details: { event: probe.event, branch: probe.branch, tag: probe.tag, sha: probe.sha } });
        try {
          const run = await ctx.scheduler.trigger(project.name, {
            sha: probe.sha,
            ...(probe.event === 'tag' ? { tag: probe.tag } : { branch: probe.branch }),
            event: probe.event,
            ...(probe.before && !/^0+$/.test(probe.before) ? { base: probe.before } : {}),
            actor,
            accept: (plan) => matchTriggers(plan.pipeline.triggers, probe, plan.context.changedFiles),
          });
          ctx.metrics.triggers.inc({ event: probe.event });
          return reply.status(201).send({ triggered: true, run: runView(run, await ctx.store.listStages(run.id)) });
        } catch (e) {
          if (e instanceof NotTriggered) return reply.status(202).send({ triggered: false, reason: e.message });
          throw e;
        }
      },
    );
  });
}
