// otto lock's edges: unsafe or broken archives refused with nothing written, git refs and sub-paths, the tree digest.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { libraryCacheDir, treeDigest } from '../../src/plan/library-cache.js';
import { lockPipeline } from '../../src/plan/lock.js';
import type { LockFile } from '../../src/plan/lock-resolver.js';
import { tempDir } from '../helpers.js';
import { git, tarball, writeStep } from './lock-fixtures.js';

const tmp = tempDir('otto-lock-archive-');
const cache = join(tmp.path, 'cache');
process.env.OTTO_LIBRARY_CACHE = cache;
after(() => tmp.cleanup());

let n = 0;
/** A project whose Ottofile uses `urls`; returns the Ottofile's path. */
function project(urls: string[], steps = "sh 'x'"): string {
  const dir = join(tmp.path, `proj-${++n}`);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'Ottofile'),
    `use {\n${urls.map((u) => `  '${u}'\n`).join('')}}\npipeline { stage('A') { steps { ${steps} } } }\n`,
  );
  return join(dir, 'Ottofile');
}

function cacheEntries(): string[] {
  return existsSync(cache) ? readdirSync(cache).sort() : [];
}

/** Writes `bytes` as a file and returns its file:// URL. */
function served(name: string, bytes: Buffer): string {
  const p = join(tmp.path, name);
  writeFileSync(p, bytes);
  return pathToFileURL(p).href;
}

async function assertRefused(url: string, pattern: RegExp): Promise<void> {
  const before = cacheEntries();
  const file = project([url]);
  const r = await lockPipeline(file);
  assert.equal(r.problems.length, 1, JSON.stringify(r));
  assert.match(r.problems[0]!.message, pattern);
  assert.ok(r.problems[0]!.message.includes(url), 'the message names the URL');
  assert.equal(r.wrote, false);
  assert.ok(!existsSync(join(file, '..', 'otto.lock')), 'no otto.lock');
  assert.deepEqual(cacheEntries(), before, 'no cache entry, no leftover staging directory');
}

test("a tarball with a '../evil' entry is refused and nothing is written anywhere", async () => {
  const src = join(tmp.path, 'evil-src', 'lib');
  writeStep(src, 'ok', 'okStep');
  writeFileSync(join(tmp.path, 'evil-src', 'evil'), 'pwned\n');
  const url = served('evil.tar.gz', tarball(src, ['ok', '../evil'], { preservePaths: true }));
  await assertRefused(url, /'\.\.\/evil' climbs out of the archive with '\.\.'/);
  assert.ok(!existsSync(join(cache, '..', 'evil')) && !existsSync(join(tmp.path, 'evil')));
});

test('a tarball with an absolute path is refused (tar@7 alone would only strip the leading /)', async () => {
  const abs = join(tmp.path, 'abs-src', 'abs.txt');
  mkdirSync(join(tmp.path, 'abs-src'));
  writeFileSync(abs, 'x\n');
  const url = served(
    'abs.tar.gz',
    tarball(join(tmp.path, 'abs-src'), [abs], { preservePaths: true }),
  );
  await assertRefused(url, /is an absolute path/);
});

test('a tarball with a link pointing outside is refused; a link inside is kept', async () => {
  const src = join(tmp.path, 'link-src');
  writeStep(src, 'linked', 'linkedStep');
  symlinkSync('../../../etc/passwd', join(src, 'linked', 'passwd'));
  await assertRefused(
    served('link-out.tar.gz', tarball(src, ['linked'])),
    /'linked\/passwd' links outside the archive \('\.\.\/\.\.\/\.\.\/etc\/passwd'\)/,
  );

  const inside = join(tmp.path, 'link-in-src');
  writeStep(inside, 'linked', 'linkedStep');
  symlinkSync('run.sh', join(inside, 'linked', 'start.sh'));
  const url = served('link-in.tar.gz', tarball(inside, ['linked']));
  const file = project([url]);
  const r = await lockPipeline(file);
  assert.deepEqual(r.problems, []);

  // No longer used: a normal lock removes the pin.
  writeFileSync(file, "pipeline { stage('A') { steps { sh 'x' } } }\n");
  const removed = await lockPipeline(file);
  assert.deepEqual(removed.messages, [`removed ${url} (no longer used)`]);
  assert.deepEqual(JSON.parse(readFileSync(join(file, '..', 'otto.lock'), 'utf8')), {
    lockVersion: 1,
    libraries: {},
  });
});

test('a file that is not an archive, and a missing file, get clear messages', async () => {
  await assertRefused(
    served(
      'garbage.tar.gz',
      Buffer.from('this is not a tarball, just text that goes on '.repeat(20)),
    ),
    /is not a valid tar archive/,
  );
  await assertRefused(
    pathToFileURL(join(tmp.path, 'missing.tar.gz')).href,
    /^cannot read '.*missing\.tar\.gz': no such file$/,
  );
});

test('the tree digest follows its documented definition', () => {
  const dir = join(tmp.path, 'digest');
  writeStep(dir, 'b-step', 'bStep');
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'b-step.txt'), 'plain\n');
  symlinkSync('b-step/run.sh', join(dir, 'link'));
  const h = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
  const entries: Array<[string, string, string]> = [
    // byte order of the whole path: '.' (0x2e) sorts before '/' (0x2f)
    ['f', h(readFileSync(join(dir, 'b-step.txt'))), 'b-step.txt'],
    ['f', h(readFileSync(join(dir, 'b-step', 'otto-step.json'))), 'b-step/otto-step.json'],
    ['x', h(readFileSync(join(dir, 'b-step', 'run.sh'))), 'b-step/run.sh'],
    ['l', h('b-step/run.sh'), 'link'],
  ];
  const expected = h(entries.map(([k, hex, p]) => `${k} ${hex} ${p}\0`).join(''));
  assert.equal(treeDigest(dir), expected);
});

test('git: a branch pins its commit; a moved branch is kept until --update; bad refs and paths are named', async () => {
  const repo = join(tmp.path, 'repo');
  mkdirSync(join(repo, 'steps'), { recursive: true });
  git(tmp.path, 'init', '-q', '-b', 'main', repo);
  writeStep(join(repo, 'steps'), 'greet', 'greet');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'one');
  git(repo, 'branch', 'release');
  const first = git(repo, 'rev-parse', 'release');
  const url = `git+file://${repo}#release:steps`;
  const file = project([url], "greet 'world'");
  const lockOf = (): LockFile =>
    JSON.parse(readFileSync(join(file, '..', 'otto.lock'), 'utf8')) as LockFile;

  const pinned = await lockPipeline(file);
  assert.deepEqual(pinned.problems, []);
  const entry = lockOf().libraries[url]!;
  assert.equal(entry.commit, first);
  assert.equal(entry.sha256, treeDigest(join(libraryCacheDir(entry.sha256), 'content')));
  assert.deepEqual(readdirSync(join(libraryCacheDir(entry.sha256), 'content')), ['greet']);

  git(repo, 'checkout', '-q', 'release');
  writeStep(join(repo, 'steps'), 'greet', 'greet', '#!/bin/sh\necho hello\n');
  git(repo, 'commit', '-q', '-am', 'two');
  const second = git(repo, 'rev-parse', 'release');

  const kept = await lockPipeline(file);
  assert.ok(kept.messages[0]!.startsWith(`already pinned ${url}`));
  assert.equal(lockOf().libraries[url]!.commit, first);

  // Re-fetching a pinned git library goes back to the pinned commit, although the branch moved on.
  rmSync(libraryCacheDir(entry.sha256), { recursive: true });
  const refetched = await lockPipeline(file);
  assert.deepEqual(refetched.problems, []);
  assert.match(refetched.messages[0]!, /^already pinned .*, fetched again into the library cache$/);
  assert.equal(lockOf().libraries[url]!.sha256, entry.sha256);

  const updated = await lockPipeline(file, { update: true });
  assert.deepEqual(updated.problems, []);
  assert.match(
    updated.messages[0]!,
    new RegExp(`^updated .* -> sha256:[0-9a-f]{12}… \\(commit ${second.slice(0, 12)}\\)$`),
  );
  assert.equal(lockOf().libraries[url]!.commit, second);

  // An abbreviated commit id cannot be fetched shallowly; it still resolves to the full commit.
  const pinnedFile = project([`git+file://${repo}#${first.slice(0, 8)}:steps`], "greet 'x'");
  const byShortId = await lockPipeline(pinnedFile);
  assert.deepEqual(byShortId.problems, []);
  assert.equal(
    (JSON.parse(readFileSync(join(pinnedFile, '..', 'otto.lock'), 'utf8')) as LockFile).libraries[
      `git+file://${repo}#${first.slice(0, 8)}:steps`
    ]!.commit,
    first,
  );

  await assertRefused(`git+file://${repo}#nope:steps`, /no branch, tag or commit 'nope'/);
  await assertRefused(`git+file://${repo}#main:nowhere`, /'nowhere' does not exist at main/);
  await assertRefused(`git+file://${join(tmp.path, 'no-repo')}#main`, /^cannot fetch 'git\+file:/);
});
