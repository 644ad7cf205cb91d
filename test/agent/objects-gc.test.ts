// Garbage collection of the local object store (src/agent/objects/gc.ts): refs expire by age
// (artifacts since archived, caches since last used), blobs go when no remaining ref reaches them,
// a blob younger than the grace period stays whatever reaches it, and a dry run removes nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage } from '../../src/agent/objects/gc.js';
import { LocalObjectStore, TREE_FORMAT } from '../../src/agent/objects/index.js';
import { tempDir } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;

test('old artifacts and unused caches go with the blobs only they used; the rest stays', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(dir, { workers: null });
  const age = (path: string, ms: number): void => {
    const when = new Date(Date.now() - ms);
    utimesSync(path, when, when);
  };
  /** A tree of files with the given contents under a ref; returns the file blobs' digests. */
  const tree = async (ref: string, contents: string[], refAge: number): Promise<string[]> => {
    const files = [];
    for (const [i, c] of contents.entries()) files.push({ c, ...(await store.putBytes(Buffer.from(c))), path: `f${i}` });
    const manifest = { format: TREE_FORMAT, files: files.length, size: 0, entries: files.map((f) => ({ path: f.path, type: 'file', mode: '0644', size: f.c.length, digest: f.digest })) };
    const m = await store.putBytes(Buffer.from(JSON.stringify(manifest)));
    await store.writeRef(ref, m.digest);
    for (const d of [m.digest, ...files.map((f) => f.digest)]) age(store.blobPath(d), 2 * 60 * 60 * 1000);
    age(join(dir, 'refs', ref), refAge);
    return [m.digest, ...files.map((f) => f.digest)];
  };
  const oldArtifact = await tree('runs/1/artifacts/app', ['old build', 'shared'], 100 * DAY);
  const newArtifact = await tree('runs/9/artifacts/app', ['new build', 'shared'], 1 * DAY);
  const oldCache = await tree('caches/demo/deps/k1', ['old deps'], 8 * DAY);
  const usedCache = await tree('caches/demo/deps/k2', ['deps'], 2 * DAY);
  const orphanOld = (await store.putBytes(Buffer.from('left behind'))).digest;
  age(store.blobPath(orphanOld), 2 * 60 * 60 * 1000);
  const orphanFresh = (await store.putBytes(Buffer.from('a save in progress'))).digest;
  const has = (d: string): boolean => existsSync(store.blobPath(d));

  const policy = { artifactDays: 90, cacheDays: 7 };
  const dry = collectGarbage(dir, { ...policy, dryRun: true });
  assert.deepEqual([dry.artifactsRemoved, dry.cachesRemoved, dry.blobsRemoved], [1, 1, 5]);
  assert.ok([...oldArtifact, ...oldCache, orphanOld].every(has), 'a dry run removes nothing');

  const r = collectGarbage(dir, policy);
  assert.deepEqual([r.artifactsRemoved, r.cachesRemoved, r.blobsRemoved], [1, 1, 5]);
  assert.equal(await store.readRef('runs/1/artifacts/app'), null);
  assert.equal(await store.readRef('caches/demo/deps/k1'), null);
  assert.ok(!existsSync(join(dir, 'refs', 'runs', '1')), "the old run's empty ref directories went");
  // manifest + 'old build' of the old artifact, manifest + 'old deps' of the old cache, the orphan
  for (const d of [oldArtifact[0], oldArtifact[1], oldCache[0], oldCache[1], orphanOld]) assert.ok(!has(d as string), `${d} removed`);
  assert.ok([...newArtifact, ...usedCache].every(has), 'what kept refs reach stays (the shared blob too)');
  assert.ok(has(orphanFresh), 'a blob younger than the grace period stays');
  assert.equal(r.blobsKept, newArtifact.length + usedCache.length + 1);

  // 0 days keeps everything of that kind.
  const none = collectGarbage(dir, { artifactDays: 0, cacheDays: 0, now: Date.now() + 1000 * DAY });
  assert.deepEqual([none.artifactsRemoved, none.cachesRemoved], [0, 0]);
});
