// The local object store: content-addressed blobs (dedup, verification, large files), atomic refs,
// and the ref-name encoding — against real files, with real concurrent writer processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BlobWorkers,
  LARGE_FILE,
  LocalObjectStore,
  ObjectError,
  checkRefName,
  decodeRefSegment,
  digestOf,
  refName,
  refSegment,
} from '../../src/agent/objects/index.js';
import { tempDir } from './helpers.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

test('putBytes stores a blob by digest under blobs/sha256/ab/…, read-only; getBytes returns it', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const bytes = Buffer.from('hello objects\n');
  const put = await store.putBytes(bytes);
  assert.equal(put.digest, digestOf(bytes));
  assert.equal(put.size, bytes.length);
  assert.equal(put.written, true);
  const hex = put.digest.slice('sha256:'.length);
  const path = join(dir, 'objects', 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2));
  assert.equal(store.blobPath(put.digest), path);
  assert.deepEqual(readFileSync(path), bytes);
  assert.equal(statSync(path).mode & 0o222, 0, 'blobs are read-only');
  assert.equal(await store.has(put.digest), true);
  assert.deepEqual(Buffer.from((await store.getBytes(put.digest)) as Uint8Array), bytes);
  assert.equal(await store.getBytes(digestOf('absent')), null);
  assert.equal(await store.has(digestOf('absent')), false);
});

test('the same bytes again are deduplicated: nothing is rewritten', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const first = await store.putBytes(Buffer.from('same'));
  const path = store.blobPath(first.digest);
  const old = new Date('2001-01-01T00:00:00Z');
  utimesSync(path, old, old);
  const again = await store.putBytes(Buffer.from('same'));
  assert.deepEqual(again, { ...first, written: false });
  assert.equal(statSync(path).mtimeMs, old.getTime(), 'the existing blob was not touched');

  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  writeFileSync(a, 'same');
  writeFileSync(b, 'other');
  const puts = await store.putFiles([{ path: a }, { path: b }]);
  assert.deepEqual(
    puts.map((p) => [p.digest, p.written]),
    [
      [first.digest, false],
      [digestOf('other'), true],
    ],
  );
  assert.equal(filesUnder(join(dir, 'objects', 'blobs')).length, 2);
});

test("writes land by rename: no temp file is left, and a crashed writer's stale temp is swept", async (t) => {
  const dir = await tempDir(t);
  const objects = join(dir, 'objects');
  mkdirSync(join(objects, 'tmp'), { recursive: true });
  // What a writer that died mid-write leaves: a partial temp file, never a partial blob.
  const stale = join(objects, 'tmp', '999-dead-0');
  writeFileSync(stale, 'half a blo');
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  utimesSync(stale, old, old);
  const fresh = join(objects, 'tmp', '998-live-0');
  writeFileSync(fresh, 'being written');

  const store = new LocalObjectStore(objects);
  const files = Array.from({ length: 50 }, (_, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, `file ${i}\n`.repeat(i + 1));
    return { path: p };
  });
  const puts = await store.putFiles(files);
  await store.writeRef('runs/1/artifacts/x', puts[0]?.digest as string);
  assert.deepEqual(
    readdirSync(join(objects, 'tmp')),
    ['998-live-0'],
    'the stale temp is gone, a live one kept, none of ours left',
  );
  for (const blob of filesUnder(join(objects, 'blobs'))) {
    const hex = blob.split('/').slice(-2).join('');
    assert.equal(
      digestOf(readFileSync(blob)),
      `sha256:${hex}`,
      `${blob} holds exactly the bytes its name says`,
    );
  }
});

test('a damaged blob is detected on read, removed, and stored again by the next put', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const bytes = Buffer.from('precious bytes');
  const { digest } = await store.putBytes(bytes);
  const path = store.blobPath(digest);
  chmodSync(path, 0o644);
  writeFileSync(path, 'precious bytez');
  await assert.rejects(
    store.getBytes(digest),
    (e: unknown) =>
      e instanceof ObjectError && e.code === 'corrupt-blob' && /damaged/.test(e.message),
  );
  assert.equal(existsSync(path), false, 'the damaged blob was removed');
  assert.equal((await store.putBytes(bytes)).written, true);
  assert.deepEqual(Buffer.from((await store.getBytes(digest)) as Uint8Array), bytes);

  // A power loss can leave a renamed blob empty: the size check makes the next put rewrite it.
  chmodSync(path, 0o644);
  truncateSync(path, 0);
  assert.equal((await store.putBytes(bytes)).written, true);
  assert.deepEqual(readFileSync(path), bytes);
});

test('getFiles writes files with exact modes, replaces a symlink instead of following it, and refuses a missing blob', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const src = join(dir, 'tool.sh');
  writeFileSync(src, '#!/bin/sh\necho hi\n');
  const [put] = await store.putFiles([{ path: src }]);
  const out = join(dir, 'out');
  mkdirSync(out);
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'untouched');
  symlinkSync(victim, join(out, 'linked.sh'));
  writeFileSync(join(out, 'existing.sh'), 'old', { mode: 0o600 });
  const digest = put?.digest as string;
  await store.getFiles([
    { digest, path: join(out, 'new.sh'), mode: 0o755, size: put?.size as number },
    { digest, path: join(out, 'linked.sh'), mode: 0o700, size: put?.size as number },
    { digest, path: join(out, 'existing.sh'), mode: 0o640, size: put?.size as number },
    { digest, path: join(out, 'group.sh'), mode: 0o775, size: put?.size as number },
  ]);
  assert.equal(readFileSync(victim, 'utf8'), 'untouched', 'the write did not follow the link');
  assert.equal(lstatSync(join(out, 'linked.sh')).isFile(), true);
  const modes = ['new.sh', 'linked.sh', 'existing.sh', 'group.sh'].map(
    (f) => statSync(join(out, f)).mode & 0o777,
  );
  assert.deepEqual(modes, [0o755, 0o700, 0o640, 0o775], 'modes are exact whatever the umask');
  assert.equal(readFileSync(join(out, 'existing.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
  await assert.rejects(
    store.getFiles([{ digest: digestOf('nope'), path: join(out, 'x'), mode: 0o644, size: 4 }]),
    (e: unknown) => e instanceof ObjectError && e.code === 'missing-blob',
  );
});

test(`files over ${LARGE_FILE / 1024 / 1024} MB are copied in chunks, verified and deduplicated`, async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const big = join(dir, 'big.bin');
  const bytes = Buffer.alloc(LARGE_FILE + 12345);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
  writeFileSync(big, bytes);
  chmodSync(big, 0o640);
  const [put] = await store.putFiles([{ path: big }]);
  assert.equal(put?.digest, digestOf(bytes));
  assert.equal(put?.mode, 0o640, 'the mode is read through the same descriptor');
  assert.equal(put?.written, true);
  assert.equal((await store.putFiles([{ path: big }]))[0]?.written, false);
  const back = join(dir, 'back.bin');
  await store.getFiles([
    { digest: put?.digest as string, path: back, mode: 0o600, size: bytes.length },
  ]);
  assert.equal(digestOf(readFileSync(back)), put?.digest);
  assert.equal(statSync(back).mode & 0o777, 0o600);

  const blob = store.blobPath(put?.digest as string);
  chmodSync(blob, 0o644);
  writeFileSync(
    blob,
    Buffer.concat([bytes.subarray(0, 100), Buffer.from('x'), bytes.subarray(101)]),
  );
  await assert.rejects(
    store.getFiles([
      { digest: put?.digest as string, path: back, mode: 0o600, size: bytes.length },
    ]),
    (e: unknown) => e instanceof ObjectError && e.code === 'corrupt-blob',
  );
  assert.equal(existsSync(blob), false);
});

test('refs: write, overwrite, read, list; a missing ref is null; bad names and values are refused', async (t) => {
  const dir = await tempDir(t);
  const store = new LocalObjectStore(join(dir, 'objects'));
  const d1 = digestOf('one');
  const d2 = digestOf('two');
  assert.equal(await store.readRef('runs/7/artifacts/site'), null);
  await store.writeRef('runs/7/artifacts/site', d1);
  assert.equal(await store.readRef('runs/7/artifacts/site'), d1);
  await store.writeRef('runs/7/artifacts/site', d2);
  assert.equal(await store.readRef('runs/7/artifacts/site'), d2);
  await store.writeRef('runs/7/artifacts/docs', d1);
  await store.writeRef('runs/8/artifacts/site', d1);
  assert.deepEqual(await store.listRefs('runs/7/artifacts/'), [
    'runs/7/artifacts/docs',
    'runs/7/artifacts/site',
  ]);
  assert.deepEqual(await store.listRefs('runs/9/artifacts/'), []);
  assert.equal(
    readFileSync(join(dir, 'objects', 'refs', 'runs', '7', 'artifacts', 'site'), 'utf8'),
    `${d2}\n`,
  );
  for (const bad of ['../escape', 'a/../../b', '/abs', 'a//b', 'a/./b', 'white space', '']) {
    await assert.rejects(store.writeRef(bad, d1), /not a valid ref name/, bad);
    await assert.rejects(store.readRef(bad), /not a valid ref name/, bad);
  }
  await assert.rejects(store.writeRef('x', 'sha256:nothex'), /not a sha256 digest/);
  await assert.rejects(store.listRefs('../'), /not a valid ref name/);
});

test('refSegment encodes any name into one safe segment, and decodes back', () => {
  for (const name of [
    'site',
    'my site',
    'a/b',
    '..',
    '.',
    '.hidden',
    'x.tar.gz',
    'ünï',
    '%41',
    'a\\b',
  ]) {
    const seg = refSegment(name);
    assert.doesNotThrow(() => checkRefName(seg), name);
    assert.ok(!seg.includes('/'), name);
    assert.ok(!seg.startsWith('.'), name);
    assert.equal(decodeRefSegment(seg), name);
  }
  assert.equal(refName('caches', 'my project', 'gems', 'ab12'), 'caches/my%20project/gems/ab12');
});

test('concurrent writers (separate processes) never leave a torn ref or a broken blob', async (t) => {
  const dir = await tempDir(t);
  const objects = join(dir, 'objects');
  const storeModule = fileURLToPath(new URL('../../src/agent/objects/index.js', import.meta.url));
  const writer = join(dir, 'writer.mjs');
  writeFileSync(
    writer,
    `import { LocalObjectStore, digestOf } from ${JSON.stringify(storeModule)};
const store = new LocalObjectStore(${JSON.stringify(objects)});
const id = process.argv[2];
for (let i = 0; i < 150; i++) {
  // Both writers store the same shared blob (a race on one name) and one of their own.
  const shared = await store.putBytes(Buffer.from('shared '.repeat(2000)));
  const own = await store.putBytes(Buffer.from(id + ' ' + i));
  await store.writeRef('runs/1/artifacts/race', i % 2 ? shared.digest : own.digest);
}
`,
  );
  const store = new LocalObjectStore(objects);
  const run = (id: string): Promise<number | null> =>
    new Promise((resolve) =>
      spawn(process.execPath, [writer, id], { stdio: 'inherit' }).on('close', resolve),
    );
  const writers = Promise.all([run('a'), run('b')]);
  let reads = 0;
  let done = false;
  void writers.then(() => (done = true));
  while (!done) {
    const digest = await store.readRef('runs/1/artifacts/race');
    if (digest !== null) {
      reads++;
      const bytes = await store.getBytes(digest);
      assert.ok(bytes !== null, `the ref points at a blob that exists (${digest})`);
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await writers, [0, 0]);
  assert.ok(reads > 0, 'the reader saw the ref while it was being rewritten');
  assert.deepEqual(readdirSync(join(objects, 'tmp')), []);
  for (const blob of filesUnder(join(objects, 'blobs'))) {
    assert.equal(digestOf(readFileSync(blob)), `sha256:${blob.split('/').slice(-2).join('')}`);
  }
});

test('batches of small files go through worker threads with the same results, and errors keep their code', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(src);
  const files = Array.from({ length: 700 }, (_, i) => {
    const p = join(src, `f${i}`);
    writeFileSync(p, `content ${i % 500}\n`);
    return { path: p };
  });
  const threaded = new LocalObjectStore(join(dir, 'a'));
  const inline = new LocalObjectStore(join(dir, 'b'), { workers: null });
  const a = await threaded.putFiles(files);
  const b = await inline.putFiles(files);
  const plain = (rs: readonly { digest: string; size: number }[]): string[] =>
    rs.map((r) => `${r.digest} ${r.size}`);
  assert.deepEqual(plain(a), plain(b));
  // Two threads may race to store one blob (harmless: same bytes, atomic rename); one remains.
  assert.equal(filesUnder(join(dir, 'a', 'blobs')).length, 500, 'duplicates are stored once');
  assert.deepEqual(
    (await threaded.putFiles(files)).map((r) => r.written),
    files.map(() => false),
  );

  const out = join(dir, 'out');
  mkdirSync(out);
  const gets = a.map((r, i) => ({
    digest: r.digest,
    path: join(out, `g${i}`),
    mode: 0o640,
    size: r.size,
  }));
  await threaded.getFiles(gets);
  for (const [i, g] of gets.entries()) {
    assert.equal(readFileSync(g.path, 'utf8'), `content ${i % 500}\n`);
    assert.equal(statSync(g.path).mode & 0o777, 0o640);
  }

  const victim = threaded.blobPath(a[321]?.digest as string);
  chmodSync(victim, 0o644);
  writeFileSync(victim, 'garbled');
  await assert.rejects(
    threaded.getFiles(gets),
    (e: unknown) => e instanceof ObjectError && e.code === 'corrupt-blob',
  );
  assert.equal(existsSync(victim), false);
});

test('when the worker threads die, a batch is redone on the calling thread', async (t) => {
  const dir = await tempDir(t);
  const crash = join(dir, 'crash.mjs');
  writeFileSync(
    crash,
    "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(7));\n",
  );
  const files = Array.from({ length: 100 }, (_, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, `f${i}`);
    return { path: p };
  });
  const store = new LocalObjectStore(join(dir, 'objects'), {
    workers: new BlobWorkers(2, pathToFileURL(crash)),
  });
  const puts = await store.putFiles(files);
  assert.deepEqual(
    puts.map((p) => p.digest),
    files.map((_, i) => digestOf(`f${i}`)),
  );
  const missing = new LocalObjectStore(join(dir, 'objects'), {
    workers: new BlobWorkers(2, pathToFileURL(join(dir, 'no-such-worker.js'))),
  });
  const out = join(dir, 'out');
  mkdirSync(out);
  await missing.getFiles(
    puts.map((p, i) => ({ digest: p.digest, path: join(out, `g${i}`), mode: 0o644, size: p.size })),
  );
  assert.equal(readFileSync(join(out, 'g42'), 'utf8'), 'f42');
});
