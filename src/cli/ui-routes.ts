// The web UI's routes on `otto serve` (the UI itself arrives with its own issue).

import type { FastifyInstance } from 'fastify';

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send('<!doctype html><title>Otto</title><p>Otto is running. The API is under <a href="/api/v1/openapi.json">/api/v1</a>.</p>'),
  );
}
