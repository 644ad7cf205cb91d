// Artifacts and caches through the ObjectOps the runner calls: glob matching, what is refused (paths
// that leave the workspace, through '..', absolute paths or symbolic links), modes, links and keys.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { ObjectOpContext, ObjectOpResult } from '../../src/agent/object-ops.js';
import {
  createObjectOps,
  LocalObjectStore,
  loadTree,
  artifactRef,
} from '../../src/agent/objects/index.js';
import { runJob } from '../../src/agent/runner.js';
import { Events, job, runproc, tempDir } from './helpers.js';

interface Fixture {
  readonly dir: string;
  readonly objects: string;
  /** A fresh workspace of run `runId`, with files written into it. */
  workspace(name: string, files?: Record<string, string>): string;
  ctx(workspace: string, runId?: string, project?: string): ObjectOpContext;
}

async function fixture(t: { after: (fn: () => Promise<void>) => void }): Promise<Fixture> {
  const dir = await tempDir(t);
  const objects = join(dir, 'objects');
  return {
    dir,
    objects,
    workspace(name, files = {}) {
      const ws = join(dir, name);
      mkdirSync(ws, { recursive: true });
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(dirname(join(ws, rel)), { recursive: true });
        writeFileSync(join(ws, rel), text);
      }
      return ws;
    },
    ctx(workspace, runId = 'run1', project = 'demo') {
      return {
        job: job(workspace, [], { runId, project, objects: { kind: 'local', dir: objects } }),
        workspace,
        env: {},
        signal: new AbortController().signal,
      };
    },
  };
}

const ops = createObjectOps();

function store(
  ctx: ObjectOpContext,
  artifact: string,
  patterns: string[],
  cwd = '.',
): Promise<ObjectOpResult> {
  return ops.store({ op: 'STORE', step: 0, artifact, patterns, cwd }, ctx);
}

function fetch(ctx: ObjectOpContext, artifact: string, into = '.'): Promise<ObjectOpResult> {
  return ops.fetch({ op: 'FETCH', step: 0, artifact, into }, ctx);
}

function listTree(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
    .sort();
}

async function storedPaths(f: Fixture, name: string, runId = 'run1'): Promise<string[]> {
  const s = new LocalObjectStore(f.objects);
  const digest = await s.readRef(artifactRef(runId, name));
  assert.ok(digest, `artifact ${name} has a ref`);
  const m = await loadTree(s, digest);
  return (m?.entries ?? []).map((e) => e.path);
}

test('glob patterns: ** across directories, * and ? within one, a matched directory counts whole', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('ws', {
    'dist/index.html': 'i',
    'dist/js/app.js': 'a',
    'dist/js/vendor/lib.js': 'l',
    'dist/.well-known/x': 'w',
    'reports/unit.xml': 'u',
    'reports/lint.xml': 'l',
    'reports/deep/e2e.xml': 'e',
    'reports/notes.txt': 'n',
    'coverage/lcov.info': 'c',
    'coverage/html/index.html': 'h',
    'src/a1.ts': '1',
    'src/a22.ts': '2',
  });
  const ctx = f.ctx(ws);
  const cases: [string, string[], string[]][] = [
    // dist/** stores dist's contents: `unarchive 'x', into: 'public'` gives public/index.html.
    ['all', ['dist/**'], ['.well-known/x', 'index.html', 'js/app.js', 'js/vendor/lib.js']],
    [
      'dir',
      ['dist'],
      ['dist/.well-known/x', 'dist/index.html', 'dist/js/app.js', 'dist/js/vendor/lib.js'],
    ],
    ['xml', ['reports/*.xml'], ['lint.xml', 'unit.xml']],
    ['deepxml', ['reports/**/*.xml'], ['deep/e2e.xml', 'lint.xml', 'unit.xml']],
    [
      'mixed',
      ['reports/*.xml', 'coverage/lcov.info'],
      ['coverage/lcov.info', 'reports/lint.xml', 'reports/unit.xml'],
    ],
    ['one', ['coverage/lcov.info'], ['lcov.info']],
    ['q', ['src/a?.ts'], ['a1.ts']],
    ['anywhere', ['**/index.html'], ['coverage/html/index.html', 'dist/index.html']],
    ['trailing', ['coverage/'], ['coverage/html/index.html', 'coverage/lcov.info']],
  ];
  for (const [name, patterns, expected] of cases) {
    const r = await store(ctx, name, patterns);
    assert.equal(r.ok, true, `${name}: ${r.message}`);
    assert.deepEqual(await storedPaths(f, name), expected, name);
    assert.equal(r.artifact?.files, expected.length);
  }
  const r = await store(ctx, 'js', ['*.js'], 'dist/js');
  assert.equal(r.ok, true, r.message);
  assert.deepEqual(await storedPaths(f, 'js'), ['app.js']);
  assert.match(r.log.join('\n'), /^artifact js: stored 1 file, 1 byte$/);
});

test('STORE then FETCH in another workspace: content, modes, empty directories and links inside', async (t) => {
  const f = await fixture(t);
  const a = f.workspace('a', {
    'out/bin/tool': '#!/bin/sh\necho tool\n',
    'out/data/x.txt': 'x\n',
    'out/private.key': 'k',
  });
  chmodSync(join(a, 'out/bin/tool'), 0o755);
  chmodSync(join(a, 'out/private.key'), 0o600);
  mkdirSync(join(a, 'out/empty'));
  symlinkSync('bin/tool', join(a, 'out/run'));
  const stored = await store(f.ctx(a), 'site', ['out/**']);
  assert.equal(stored.ok, true, stored.message);
  assert.equal(stored.artifact?.files, 3);
  assert.equal(stored.artifact?.name, 'site');
  assert.match(stored.artifact?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(stored.log, ['artifact site: stored 3 files, 23 bytes from out/']);

  const b = f.workspace('b');
  const fetched = await fetch(f.ctx(b), 'site', 'public');
  assert.equal(fetched.ok, true, fetched.message);
  assert.deepEqual(fetched.log, ['artifact site: fetched 3 files, 23 bytes into public']);
  assert.deepEqual(listTree(join(b, 'public')), ['bin/tool', 'data/x.txt', 'private.key', 'run']);
  assert.equal(readFileSync(join(b, 'public/bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
  assert.equal(statSync(join(b, 'public/bin/tool')).mode & 0o777, 0o755);
  assert.equal(statSync(join(b, 'public/private.key')).mode & 0o777, 0o600);
  assert.equal(
    statSync(join(b, 'public/data/x.txt')).mode & 0o777,
    statSync(join(a, 'out/data/x.txt')).mode & 0o777,
  );
  assert.equal(statSync(join(b, 'public/empty')).isDirectory(), true);
  assert.equal(readlinkSync(join(b, 'public/run')), 'bin/tool');
});

test('FETCH of an unknown artifact names the ones the run has; artifacts are scoped to their run', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('ws', { 'a.txt': 'a' });
  const none = await fetch(f.ctx(ws), 'site');
  assert.equal(none.ok, false);
  assert.match(
    none.message,
    /artifact 'site' was not stored in this run \(no artifacts have been stored in this run yet\)/,
  );
  assert.equal((await store(f.ctx(ws), 'docs', ['a.txt'])).ok, true);
  assert.equal((await store(f.ctx(ws), 'my build', ['a.txt'])).ok, true);
  const missing = await fetch(f.ctx(ws), 'site');
  assert.match(missing.message, /this run has 'docs', 'my build'/);
  const otherRun = await fetch(f.ctx(ws, 'run2'), 'docs');
  assert.equal(otherRun.ok, false, "run2 does not see run1's artifacts");
});

test('zero matches is an error naming the patterns', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('ws', { 'src/a.ts': 'a' });
  const r = await store(f.ctx(ws), 'site', ['dist/**', '*.tgz']);
  assert.equal(r.ok, false);
  assert.equal(r.message, "archive 'site': no files match 'dist/**', '*.tgz'");
  const sub = await store(f.ctx(ws), 'site', ['*.js'], 'src');
  assert.equal(sub.message, "archive 'site': no files match '*.js' in 'src'");
});

test('archive patterns that are absolute or go up with .. are refused', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('project/ws', { 'a.txt': 'a', 'sub/b.txt': 'b' });
  f.workspace('project/outside', { 'secret.txt': 's' });
  const abs = await store(f.ctx(ws), 'x', ['/etc/hostname']);
  assert.equal(abs.ok, false);
  assert.match(
    abs.message,
    /archive pattern '\/etc\/hostname' is an absolute path; write it relative to the workspace/,
  );
  const up = await store(f.ctx(ws), 'x', ['../outside/**']);
  assert.match(up.message, /archive pattern '..\/outside\/\*\*' goes up with '..'/);
  const upFromSub = await store(f.ctx(ws), 'x', ['../a.txt'], 'sub');
  assert.match(upFromSub.message, /goes up with '..'/);
  const cwdUp = await store(f.ctx(ws), 'x', ['*'], '../outside');
  assert.match(cwdUp.message, /working directory '..\/outside' goes up with '..'/);
  assert.equal(existsSync(join(f.objects, 'refs')), false, 'nothing was stored');
});

test('symbolic links that lead outside the workspace are refused, as files and as directories', async (t) => {
  const f = await fixture(t);
  const outside = f.workspace('outside', { 'secret.txt': 'top secret' });
  const ws = f.workspace('ws', { 'dist/ok.txt': 'ok' });
  symlinkSync(join(outside, 'secret.txt'), join(ws, 'dist/leak.txt'));
  const file = await store(f.ctx(ws), 'x', ['dist/**']);
  assert.equal(file.ok, false);
  assert.match(
    file.message,
    /'dist\/leak.txt' is a symbolic link to '.*secret.txt', outside the workspace/,
  );

  const ws2 = f.workspace('ws2', { 'a.txt': 'a' });
  symlinkSync(outside, join(ws2, 'out'));
  const dir = await store(f.ctx(ws2), 'x', ['out']);
  assert.match(dir.message, /'out' is a symbolic link to .*outside the workspace/);
  // A step directory that is a link out of the workspace is refused before anything is read.
  const cwd = await store(f.ctx(ws2), 'x', ['*.txt'], 'out');
  assert.match(cwd.message, /working directory 'out' leads outside the workspace/);
  // Relative links that climb out count too.
  const ws3 = f.workspace('ws3', { 'd/a.txt': 'a' });
  symlinkSync('../../outside/secret.txt', join(ws3, 'd/up.txt'));
  const climb = await store(f.ctx(ws3), 'x', ['d/*']);
  assert.match(
    climb.message,
    /'d\/up.txt' is a symbolic link to '..\/..\/outside\/secret.txt', outside the workspace/,
  );
  assert.equal(existsSync(join(f.objects, 'refs')), false);
});

test('FETCH refuses an into that leaves the workspace, and never writes through a link', async (t) => {
  const f = await fixture(t);
  const a = f.workspace('a', { 'out/x.txt': 'x' });
  assert.equal((await store(f.ctx(a), 'site', ['out/**'])).ok, true);
  const outside = f.workspace('outside');
  const b = f.workspace('b');
  const up = await fetch(f.ctx(b), 'site', '../outside');
  assert.equal(up.ok, false);
  assert.match(up.message, /unarchive 'into' '..\/outside' goes up with '..'/);
  const abs = await fetch(f.ctx(b), 'site', outside);
  assert.match(abs.message, /unarchive 'into' '.*outside' is an absolute path/);
  symlinkSync(outside, join(b, 'public'));
  const linked = await fetch(f.ctx(b), 'site', 'public/www');
  assert.equal(linked.ok, false);
  assert.match(
    linked.message,
    /public is a symbolic link to .*outside, outside the workspace; nothing is restored through it/,
  );
  symlinkSync(join(outside, 'x.txt'), join(b, 'x.txt'));
  const over = await fetch(f.ctx(b), 'site', '.');
  assert.equal(over.ok, true, over.message);
  assert.equal(lstatSync(join(b, 'x.txt')).isFile(), true, 'the link was replaced by the file');
  assert.deepEqual(listTree(outside), [], 'nothing was written outside the workspace');
});

test('caches: a miss, a save, a hit in another workspace; a changed key file misses', async (t) => {
  const f = await fixture(t);
  const save = {
    op: 'CACHE_SAVE',
    name: 'gems',
    paths: ['vendor/', 'missing/'],
    keyFiles: ['Gemfile.lock'],
    when: 'success',
  } as const;
  const restore = { op: 'CACHE_RESTORE', name: 'gems', keyFiles: ['Gemfile.lock'] } as const;
  const one = f.workspace('one', { 'Gemfile.lock': 'rake 13\n' });
  const miss = await ops.cacheRestore(restore, f.ctx(one));
  assert.deepEqual(miss, { ok: true, message: '', log: ['cache gems: miss'] });
  f.workspace('one', {
    'vendor/rake/lib/rake.rb': 'module Rake; end\n',
    'vendor/rake/bin/rake': '#!/bin/sh\n',
  });
  chmodSync(join(one, 'vendor/rake/bin/rake'), 0o755);
  mkdirSync(join(one, 'vendor/.bin'));
  symlinkSync('../rake/bin/rake', join(one, 'vendor/.bin/rake'));
  const saved = await ops.cacheSave(save, f.ctx(one));
  assert.equal(saved.ok, true, saved.message);
  assert.deepEqual(saved.log, [
    "cache gems: 'missing/' is not in the workspace; skipped",
    'cache gems: saved, 2 files, 27 bytes (2 new files, 27 bytes written)',
  ]);
  assert.equal(saved.artifact, undefined, 'caches are not reported as artifacts');
  const again = await ops.cacheSave(save, f.ctx(one));
  assert.match(again.log.at(-1) ?? '', /saved, 2 files, 27 bytes \(no new files\)$/);

  const two = f.workspace('two', { 'Gemfile.lock': 'rake 13\n' });
  const hit = await ops.cacheRestore(restore, f.ctx(two, 'run2'));
  assert.deepEqual(hit.log, ['cache gems: hit, 2 files, 27 bytes']);
  assert.equal(readFileSync(join(two, 'vendor/rake/lib/rake.rb'), 'utf8'), 'module Rake; end\n');
  assert.equal(statSync(join(two, 'vendor/rake/bin/rake')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(two, 'vendor/.bin/rake')), '../rake/bin/rake');

  const three = f.workspace('three', { 'Gemfile.lock': 'rake 14\n' });
  assert.deepEqual((await ops.cacheRestore(restore, f.ctx(three))).log, ['cache gems: miss']);
  const otherProject = f.workspace('four', { 'Gemfile.lock': 'rake 13\n' });
  assert.deepEqual(
    (await ops.cacheRestore(restore, f.ctx(otherProject, 'run1', 'other'))).log,
    ['cache gems: miss'],
    'caches are per project',
  );
});

test('caches: nothing to save is a note; paths and key files outside the workspace are refused', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('ws', { 'a.txt': 'a' });
  const nothing = await ops.cacheSave(
    { op: 'CACHE_SAVE', name: 'c', paths: ['vendor'], keyFiles: [], when: 'success' },
    f.ctx(ws),
  );
  assert.deepEqual(nothing, {
    ok: true,
    message: '',
    log: ["cache c: 'vendor' is not in the workspace; skipped", 'cache c: nothing to save'],
  });
  const up = await ops.cacheSave(
    { op: 'CACHE_SAVE', name: 'c', paths: ['../x'], keyFiles: [], when: 'success' },
    f.ctx(ws),
  );
  assert.equal(up.ok, false);
  assert.match(up.message, /cache c: path '..\/x' goes up with '..'/);
  const outside = f.workspace('outside', { 'k.lock': 'k', 'lib/x.rb': 'x' });
  symlinkSync(join(outside, 'lib'), join(ws, 'lib'));
  const linked = await ops.cacheSave(
    { op: 'CACHE_SAVE', name: 'c', paths: ['lib/x.rb'], keyFiles: [], when: 'success' },
    f.ctx(ws),
  );
  assert.match(linked.message, /cache c: path '.*' leads outside the workspace/);
  const key = await ops.cacheRestore(
    { op: 'CACHE_RESTORE', name: 'c', keyFiles: ['/etc/hostname'] },
    f.ctx(ws),
  );
  assert.match(key.message, /cache c: key file '\/etc\/hostname' is an absolute path/);
});

test('through the runner: a failed STORE fails the stage with its message, and the lines reach the log', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('ws');
  const ev = new Events();
  const ctl = new AbortController();
  await runJob(
    job(
      ws,
      [
        runproc(0, 'mkdir -p dist && echo hi > dist/a.txt'),
        { op: 'STORE', step: 1, artifact: 'site', patterns: ['dist/**'], cwd: '.' },
        { op: 'STORE', step: 2, artifact: 'bad', patterns: ['/etc/passwd'], cwd: '.' },
        runproc(3, 'echo never'),
      ],
      { objects: { kind: 'local', dir: f.objects } },
    ),
    ev.emit,
    ctl.signal,
    ops,
  );
  const finished = ev.finished();
  assert.equal(finished.outcome, 'failed');
  assert.match(finished.message, /^STORE bad: archive pattern '\/etc\/passwd' is an absolute path/);
  assert.deepEqual(
    finished.artifacts.map((a) => [a.name, a.files, a.size]),
    [['site', 1, 3]],
  );
  assert.match(ev.logs(null, 'system'), /artifact site: stored 1 file, 3 bytes from dist\//);
});

test('a stage that restores a cache saves it under the key it restored with, even if a step rewrote a key file', async (t) => {
  const f = await fixture(t);
  const restore = { op: 'CACHE_RESTORE', name: 'deps', keyFiles: ['deps.lock'] } as const;
  const save = { ...restore, op: 'CACHE_SAVE', paths: ['vendor'], when: 'success' } as const;
  const ws = f.workspace('one', { 'deps.lock': 'v1\n' });
  const ev = new Events();
  await runJob(
    job(
      ws,
      [
        restore,
        runproc(0, 'mkdir -p vendor && echo lib > vendor/lib && echo v1-resolved > deps.lock'),
        save,
      ],
      {
        objects: { kind: 'local', dir: f.objects },
      },
    ),
    ev.emit,
    new AbortController().signal,
    ops,
  );
  assert.equal(ev.finished().outcome, 'succeeded', ev.logs());
  const next = f.workspace('two', { 'deps.lock': 'v1\n' });
  const hit = await ops.cacheRestore(restore, f.ctx(next, 'run2'));
  assert.deepEqual(hit.log, ['cache deps: hit, 1 file, 4 bytes']);
  // Without a restore in the job, the key comes from the key files as they are at the save.
  const alone = f.workspace('three', { 'deps.lock': 'v2\n', 'vendor/lib': 'lib\n' });
  assert.equal((await ops.cacheSave(save, f.ctx(alone))).ok, true);
  const v2 = f.workspace('four', { 'deps.lock': 'v2\n' });
  assert.deepEqual((await ops.cacheRestore(restore, f.ctx(v2))).log, [
    'cache deps: hit, 1 file, 4 bytes',
  ]);
});

test("an in-place workspace never archives Otto's own directory or the object store", async (t) => {
  const f = await fixture(t);
  const ws = f.workspace('project', { 'a.txt': 'a', '.otto/otto.db': 'db', 'sub/b.txt': 'b' });
  const objects = join(ws, '.otto', 'objects');
  const ctx = {
    ...f.ctx(ws),
    job: { ...f.ctx(ws).job, objects: { kind: 'local' as const, dir: objects } },
  };
  const first = await store(ctx, 'all', ['**']);
  assert.equal(first.ok, true, first.message);
  const second = await store(ctx, 'all', ['**']);
  assert.equal(second.ok, true, second.message);
  assert.equal(
    second.artifact?.digest,
    first.artifact?.digest,
    "the store's own files did not creep in",
  );
  const s = new LocalObjectStore(objects);
  const m = await loadTree(s, (await s.readRef(artifactRef('run1', 'all'))) as string);
  assert.deepEqual(
    m?.entries.map((e) => e.path),
    ['a.txt', 'sub/b.txt'],
  );
});

test('an aborted job stops its object ops: nothing is stored', async (t) => {
  const f = await fixture(t);
  const ws = f.workspace(
    'ws',
    Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d${i % 30}/f${i}`, `${i}`])),
  );
  const ctl = new AbortController();
  const ctx = { ...f.ctx(ws), signal: ctl.signal };
  ctl.abort(new Error('the stage was cancelled'));
  const r = await store(ctx, 'all', ['**']);
  assert.equal(r.ok, false);
  assert.equal(r.message, 'the stage was cancelled');
  const late = new AbortController();
  const pending = store({ ...ctx, signal: late.signal }, 'all', ['**']);
  late.abort(new Error('the stage was cancelled'));
  const stopped = await pending;
  assert.equal(stopped.ok, false, 'aborted while walking or storing');
  assert.equal(existsSync(join(f.objects, 'refs')), false);
});
