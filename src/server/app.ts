// The HTTP application: routes under /api/v1, the OpenAPI document generated from their schemas,
// JSON errors, and limits on what a request may send.

import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import './swagger-types.js';
import type { ServerContext } from './context.js';
import { installErrorHandling } from './errors.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { hookRoutes } from './routes/hooks.js';
import { opsRoutes } from './routes/ops.js';
import { projectRoutes } from './routes/projects.js';
import { runRoutes } from './routes/runs.js';
import { artifactRoutes } from './routes/artifacts.js';

export interface AppOptions {
  /** The object store directory (artifacts). */
  readonly objectsDir?: string;
  /** Largest JSON body accepted (default 1 MiB; agents' event batches have their own limit). */
  readonly bodyLimit?: number;
  readonly logger?: boolean;
  /** Extra routes (the web UI). */
  readonly extend?: (app: FastifyInstance) => Promise<void> | void;
}

export async function buildApp(ctx: ServerContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logger: options.logger ?? false,
    forceCloseConnections: true,
    return503OnClosing: false,
    // A misspelt field is an error, not something quietly ignored (Fastify strips them by default).
    ajv: { customOptions: { removeAdditional: false } },
  });
  installErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Otto API', version: ctx.settings.version, description: 'Continuous delivery: projects, runs, gates, events and agents. Every route takes Authorization: Bearer <token>, except /api/v1/health, /api/v1/callbacks (the token is in the URL) and webhooks (verified by signature).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  projectRoutes(app, ctx);
  runRoutes(app, ctx);
  eventRoutes(app, ctx);
  agentRoutes(app, ctx);
  hookRoutes(app, ctx);
  opsRoutes(app, ctx);
  if (options.objectsDir) artifactRoutes(app, ctx, options.objectsDir);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (options.extend) await options.extend(app);
  return app;
}
