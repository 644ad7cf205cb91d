// A run's artifacts: what was archived, and a download of each as a gzipped tar.

import { mkdtempSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { create as createTar } from 'tar';
import { artifactRef, decodeRefSegment, loadTree, LocalObjectStore, refName } from '../../agent/objects/index.js';
import { restoreTree } from '../../agent/objects/tree.js';
import { authorize } from '../auth.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { loadRun } from './runs.js';

/** An artifact name as `archive … name:` allows it: one path segment, never '.' or '..'. */
function checkArtifactName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || name.length > 255) {
    throw new ApiError('bad_request', `'${name}' is not an artifact name: a name is one path segment, never '.', '..' or containing '/'`);
  }
}

export function artifactRoutes(app: FastifyInstance, ctx: ServerContext, objectsDir: string): void {
  let store: LocalObjectStore | undefined;
  const objects = (): LocalObjectStore => (store ??= new LocalObjectStore(objectsDir, { workers: null }));

  app.get<{ Params: { id: string } }>(
    '/api/v1/runs/:id/artifacts',
    { schema: { tags: ['runs'], summary: "A run's artifacts", params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } }, required: ['id'] } } },
    async (request) => {
      await authorize(ctx.store, request, 'viewer');
      const run = await loadRun(ctx, request.params.id);
      const prefix = `${refName('runs', run.id, 'artifacts')}/`;
      const artifacts = [];
      for (const ref of await objects().listRefs(prefix)) {
        const digest = await objects().readRef(ref);
        const manifest = digest ? await loadTree(objects(), digest) : null;
        if (!manifest || !digest) continue;
        artifacts.push({ name: decodeRefSegment(ref.slice(prefix.length)), files: manifest.files, size: manifest.size, digest });
      }
      return { artifacts };
    },
  );

  app.get<{ Params: { id: string; name: string } }>(
    '/api/v1/runs/:id/artifacts/:name',
    {
      schema: {
        tags: ['runs'],
        summary: 'Download an artifact (a gzipped tar of its files)',
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' }, name: { type: 'string' } }, required: ['id', 'name'] },
      },
    },
    async (request, reply) => {
      await authorize(ctx.store, request, 'viewer');
      const name = request.params.name;
      checkArtifactName(name);
      const run = await loadRun(ctx, request.params.id);
      const digest = await objects().readRef(artifactRef(run.id, name));
      const manifest = digest ? await loadTree(objects(), digest) : null;
      if (!manifest) throw new ApiError('not_found', `run ${run.id} has no artifact '${name}'`);
      // Restore into a private directory, then stream it as a tarball.
      const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'otto-artifact-')));
      try {
        await restoreTree(objects(), manifest, tmp, tmp);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      const stream = createTar({ gzip: true, cwd: tmp, portable: true }, ['.']);
      stream.on('end', () => rmSync(tmp, { recursive: true, force: true }));
      stream.on('error', () => rmSync(tmp, { recursive: true, force: true }));
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.tar.gz"`)
        .send(stream);
    },
  );
}
