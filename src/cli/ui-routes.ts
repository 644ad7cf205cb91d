// The web UI on `otto serve`: the files `npm run build:web` put in dist/web. Every path that is not
// an API path gets index.html, so the UI's own URLs (a run, a stage's log line) can be opened
// directly; hashed assets are cached for a year, compressed once in memory on first request.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { installRoot } from '../util/install.js';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** dist/web, next to dist/src where this file runs from. */
export const WEB_ROOT = join(installRoot, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Paths that belong to the server, never to the UI: an unknown one is a JSON 404, not the page. */
const SERVER_PATHS = /^\/(api|metrics|hooks|webhooks)(\/|$)/;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // React Flow positions nodes with style attributes, hence 'unsafe-inline' for styles only.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | null;
  readonly type: string;
}

/** The extension `otto serve` installs (its second argument, the server context, is not needed). */
export async function uiRoutes(app: FastifyInstance): Promise<void> {
  serveWeb(app, WEB_ROOT);
}

export function serveWeb(app: FastifyInstance, root: string): void {
  const base = resolve(root);
  const cache = new Map<string, Asset | null>();

  const load = (relative: string): Asset | null => {
    if (cache.has(relative)) return cache.get(relative) ?? null;
    const file = resolve(base, relative);
    let asset: Asset | null = null;
    if (
      (file === base || file.startsWith(base + sep)) &&
      existsSync(file) &&
      statSync(file).isFile()
    ) {
      const body = readFileSync(file);
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const compressible =
        /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      asset = { body, type, gzip: compressible ? gzipSync(body, { level: 9 }) : null };
    }
    // index.html is re-read after a rebuild only by a restart; assets are immutable by name.
    if (cache.size < 500) cache.set(relative, asset);
    return asset;
  };

  const send = (
    request: FastifyRequest,
    reply: FastifyReply,
    asset: Asset,
    cacheControl: string,
  ): FastifyReply => {
    reply
      .headers(SECURITY_HEADERS)
      .header('cache-control', cacheControl)
      .header('vary', 'accept-encoding')
      .type(asset.type);
    const accepts = String(request.headers['accept-encoding'] ?? '');
    if (asset.gzip && /\bgzip\b/.test(accepts))
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };

  const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const index = load('index.html');
    if (!index) {
      return reply
        .headers(SECURITY_HEADERS)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><title>Otto</title><p>Otto is running, but its web UI is not built: run <code>npm run build:web</code>. The API is under <a href="/api/v1/openapi.json">/api/v1</a>.</p>',
        );
    }
    return send(request, reply, index, 'no-cache');
  };

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    } catch {
      return reply
        .status(400)
        .send({
          error: { code: 'bad_request', message: 'the path is not valid percent-encoding' },
        });
    }
    if (SERVER_PATHS.test(path))
      return reply
        .status(404)
        .send({ error: { code: 'not_found', message: `no route ${request.method} ${path}` } });
    if (path.startsWith('/assets/')) {
      const asset = load(join('assets', path.slice('/assets/'.length)));
      if (!asset) return reply.status(404).type('text/plain; charset=utf-8').send('not found');
      return send(request, reply, asset, 'public, max-age=31536000, immutable');
    }
    return page(request, reply);
  });
}
