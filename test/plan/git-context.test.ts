// The trigger context from git: outside a repository, on an unborn branch, with uncommitted and
// untracked changes, from a subdirectory, and with everything given on the command line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maybeInGitRepo, resolveContext } from '../../src/plan/git-context.js';

function tempRepo(t: { after: (fn: () => void) => void }): {
  dir: string;
  git: (...args: string[]) => string;
} {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'otto-git-context-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]): string => {
    const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=T', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  return { dir, git };
}

test('git context: outside a repository nothing is asked of git and the context is empty', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otto-git-context-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'Ottofile'), '');
  assert.equal(maybeInGitRepo(dir), false);
  const ctx = resolveContext(join(dir, 'Ottofile'), {});
  assert.deepEqual([ctx.event, ctx.branch, ctx.sha, ctx.changedFiles], ['manual', '', '', []]);
  assert.throws(
    () => resolveContext(join(dir, 'Ottofile'), { base: 'main' }),
    /--base needs a git repository/,
  );
});

test('git context: an unborn branch has its name and no sha; untracked files are changed', (t) => {
  const { dir, git } = tempRepo(t);
  git('init', '-q', '-b', 'trunk');
  writeFileSync(join(dir, 'Ottofile'), '');
  assert.equal(maybeInGitRepo(dir), true);
  const ctx = resolveContext(join(dir, 'Ottofile'), {});
  assert.deepEqual([ctx.branch, ctx.sha, ctx.changedFiles], ['trunk', '', ['Ottofile']]);
});

test('git context: HEAD, a detached HEAD, and uncommitted plus untracked changes relative to the top, from a subdirectory', (t) => {
  const { dir, git } = tempRepo(t);
  git('init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'ci'));
  writeFileSync(join(dir, 'ci', 'Ottofile'), '');
  writeFileSync(join(dir, 'README'), 'one\n');
  git('add', '.');
  git('commit', '-q', '-m', 'one');
  const head = git('rev-parse', 'HEAD');
  writeFileSync(join(dir, 'README'), 'two\n');
  writeFileSync(join(dir, 'ci', 'new.txt'), 'new\n');
  const ctx = resolveContext(join(dir, 'ci', 'Ottofile'), {});
  assert.deepEqual(
    [ctx.branch, ctx.sha, ctx.changedFiles],
    ['main', head, ['README', 'ci/new.txt']],
  );
  // Flags win; changed files given are used as they are.
  const given = resolveContext(join(dir, 'ci', 'Ottofile'), {
    branch: 'b',
    sha: 'abc',
    changed: ['x', 'a', 'x'],
  });
  assert.deepEqual([given.branch, given.sha, given.changedFiles], ['b', 'abc', ['a', 'x']]);
  const partly = resolveContext(join(dir, 'ci', 'Ottofile'), { changed: ['only'] });
  assert.deepEqual([partly.branch, partly.sha, partly.changedFiles], ['main', head, ['only']]);
  git('checkout', '-q', '--detach');
  const detached = resolveContext(join(dir, 'ci', 'Ottofile'), {});
  assert.deepEqual([detached.branch, detached.sha], ['', head]);
});

test('git context: GIT_DIR in the environment makes git worth asking wherever the file is', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otto-git-context-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const saved = process.env.GIT_DIR;
  process.env.GIT_DIR = join(dir, 'elsewhere.git');
  try {
    assert.equal(maybeInGitRepo(dir), true);
  } finally {
    if (saved === undefined) delete process.env.GIT_DIR;
    else process.env.GIT_DIR = saved;
  }
});
