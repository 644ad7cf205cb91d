// A stage's workspace copied from the run's snapshot in-process is what `cp -a` of the snapshot gives:
// the same entries, types, modes, sizes, contents, link targets and (to the millisecond) timestamps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspaces } from '../../src/engine/workspaces.js';

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const what = st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? `link -> ${readlinkSync(p)}`
          : `file ${st.size} ${readFileSync(p, 'utf8')}`;
      out.push(`${r} ${what} ${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs)}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

test('workspaces: the in-process copy of a small snapshot equals cp -a of it', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'otto-ws-copy-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const project = join(root, 'project');
  mkdirSync(join(project, 'src', 'deep'), { recursive: true });
  writeFileSync(join(project, 'Ottofile'), "pipeline { stage('A') { steps { sh 'true' } } }\n");
  writeFileSync(join(project, 'src', 'app.txt'), 'app\n');
  writeFileSync(join(project, 'src', 'deep', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(project, 'src', 'deep', 'run.sh'), 0o750);
  writeFileSync(join(project, 'private'), 'secret-ish\n');
  chmodSync(join(project, 'private'), 0o600);
  utimesSync(
    join(project, 'src', 'app.txt'),
    new Date('2020-01-02T03:04:05.678Z'),
    new Date('2021-02-03T04:05:06.789Z'),
  );
  symlinkSync('src/app.txt', join(project, 'current'));
  symlinkSync('does-not-exist', join(project, 'dangling'));

  const runDir = join(root, 'run');
  const ws = new Workspaces({ project, runDir, inPlace: false });
  const dir = ws.prepare('Build', null);
  const expected = join(root, 'expected');
  mkdirSync(expected);
  const cp = spawnSync('cp', ['-a', `${join(runDir, 'source')}/.`, expected]);
  assert.equal(cp.status, 0, String(cp.stderr));
  chmodSync(expected, lstatSync(join(runDir, 'source')).mode & 0o7777);
  assert.deepEqual(listing(dir), listing(expected));
  // A second stage gets its own copy; the first one's changes do not leak into it.
  writeFileSync(join(dir, 'src', 'app.txt'), 'changed\n');
  const second = ws.prepare('Test', null);
  assert.equal(readFileSync(join(second, 'src', 'app.txt'), 'utf8'), 'app\n');
  // Preparing a stage again (a retry) starts from the snapshot again.
  assert.equal(readFileSync(join(ws.prepare('Build', null), 'src', 'app.txt'), 'utf8'), 'app\n');
});
