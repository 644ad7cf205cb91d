// The server's checkouts of commits (what triggers plan from) are a cache, not an archive: each
// project keeps its most recently used ones, and a commit needed again is checked out again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEPT_CHECKOUTS, Sources } from '../../src/server/source.js';

test('a project keeps its most recently used checkouts; an old commit comes back on demand', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'otto-checkouts-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const repo = join(root, 'repo');
  const git = (...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  const shas: string[] = [];
  for (let i = 0; i < KEPT_CHECKOUTS + 5; i++) {
    writeFileSync(join(repo, 'Ottofile'), `// commit ${i}\n`);
    git('add', '-A');
    git('commit', '-qm', `commit ${i}`);
    shas.push(git('rev-parse', 'HEAD'));
  }
  const sources = new Sources(join(root, 'data'));
  await sources.fetch('demo', repo);
  for (const sha of shas) await sources.cachedCheckout('demo', sha);
  // The first commit is used again: it counts as recent.
  await sources.cachedCheckout('demo', shas[5] as string);
  await sources.cachedCheckout('demo', shas.at(-1) as string);

  const kept = readdirSync(join(root, 'data', 'checkouts', 'demo')).sort();
  assert.equal(kept.length, KEPT_CHECKOUTS);
  assert.ok(kept.includes(shas[5] as string), 'a checkout used again is kept');
  assert.ok(!kept.includes(shas[0] as string), 'the least recently used went');
  const again = await sources.cachedCheckout('demo', shas[0] as string);
  assert.equal(readFileSync(join(again, 'Ottofile'), 'utf8'), '// commit 0\n');
  assert.ok(existsSync(join(again, '.otto-complete')));
  assert.equal(readdirSync(join(root, 'data', 'checkouts', 'demo')).length, KEPT_CHECKOUTS);
});
