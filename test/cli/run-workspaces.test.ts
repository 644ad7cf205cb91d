// Workspaces: every stage works in a copy, so the user's tree stays as it was; git-ignored files are
// not copied; `runtime { from }` inherits files; parallel stages are isolated; --in-place is not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lines, project } from './run-helpers.js';

/** Every entry under `dir` with its type, mode, size, mtime and content hash. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      const hash = st.isFile()
        ? createHash('sha256')
            .update(readFileSync(join(dir, r)))
            .digest('hex')
            .slice(0, 16)
        : '';
      out.push(
        `${r} ${st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other'} ${st.mode.toString(8)} ${st.isFile() ? st.size : ''} ${st.mtimeMs} ${hash}`,
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync(
    'git',
    [
      '-c',
      'user.email=test@example.com',
      '-c',
      'user.name=test',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

test("workspaces: steps that write, change and delete files leave the user's tree exactly as it was", async (t) => {
  const p = project(t, '', { home: 'outside' });
  mkdirSync(join(p.dir, 'src'));
  p.write('src/app.txt', 'original\n');
  p.write('README', 'readme\n');
  symlinkSync('src/app.txt', join(p.dir, 'current'));
  p.write(
    'Ottofile',
    `pipeline {
  stage('Mess') {
    steps { sh 'echo through-link > current; echo changed > src/app.txt; rm README; mkdir -p out/deep; echo x > out/deep/file; echo new > new.txt; chmod 600 Ottofile' }
  }
  parallel {
    stage('P1') { steps { sh 'echo p1 > src/app.txt; touch p1' } }
    stage('P2') { runtime { from 'Mess' } steps { sh 'cat out/deep/file; rm -r src' } }
  }
}
`,
  );
  const before = listing(p.dir);
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listing(p.dir), before, 'the run changed the project directory');
  assert.ok(existsSync(join(p.home, 'otto.db')), 'the store lives in OTTO_HOME');
});

test('workspaces: in a git repository tracked and untracked files are copied, ignored ones and .git are not', async (t) => {
  const p = project(t, '');
  const s = p.scratch;
  p.write('.gitignore', 'ignored.txt\nbuild/\n.otto/\n');
  p.write('tracked.txt', 'tracked\n');
  git(p.dir, 'init', '-q');
  git(p.dir, 'add', '.gitignore', 'tracked.txt');
  git(p.dir, 'commit', '-q', '-m', 'init');
  p.write('untracked.txt', 'untracked\n');
  p.write('ignored.txt', 'ignored\n');
  mkdirSync(join(p.dir, 'build'));
  p.write('build/output.bin', 'ignored too\n');
  mkdirSync(join(p.dir, 'docs'));
  p.write('docs/notes.md', 'untracked in a directory\n');
  p.write(
    'Ottofile',
    `pipeline {
  stage('X') { steps { sh 'find . -path ./.git -prune -o -print | sort > ${s}/x-listing; ls -d .git > ${s}/x-git 2>&1 || true; echo from-x > made-by-x.txt; echo changed-by-x > tracked.txt' } }
  stage('Y') { runtime { from 'X' } steps { sh 'cat made-by-x.txt tracked.txt > ${s}/y-saw' } }
  stage('Z') { steps { sh 'cat tracked.txt > ${s}/z-saw; test ! -e made-by-x.txt' } }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const seen = lines(join(s, 'x-listing'));
  for (const f of [
    './.gitignore',
    './Ottofile',
    './tracked.txt',
    './untracked.txt',
    './docs/notes.md',
  ])
    assert.ok(seen.includes(f), `${f} was not copied: ${seen.join(' ')}`);
  for (const f of ['./ignored.txt', './build', './build/output.bin', './.otto'])
    assert.ok(!seen.includes(f), `${f} was copied: ${seen.join(' ')}`);
  assert.match(
    readFileSync(join(s, 'x-git'), 'utf8'),
    /No such file/,
    '.git was copied into the workspace',
  );
  assert.deepEqual(
    lines(join(s, 'y-saw')),
    ['from-x', 'changed-by-x'],
    "runtime { from 'X' } sees X's files as X left them",
  );
  assert.deepEqual(
    lines(join(s, 'z-saw')),
    ['tracked'],
    "a stage without 'from' starts from the project, not from X",
  );
  assert.equal(readFileSync(join(p.dir, 'tracked.txt'), 'utf8'), 'tracked\n');
  assert.ok(!existsSync(join(p.dir, 'made-by-x.txt')));
});

test(
  'workspaces: two parallel stages writing the same file do not see each other',
  { timeout: 30_000 },
  async (t) => {
    const p = project(t, '');
    const s = p.scratch;
    // Each writes same.txt, then waits until the other has written too, then reads it back.
    const branch = (me: string, other: string): string =>
      `stage('${me}') { steps { sh 'test ! -e same.txt; echo ${me} > same.txt; touch ${s}/${me}-wrote; i=0; while [ ! -e ${s}/${other}-wrote ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -e ${s}/${other}-wrote; cat same.txt > ${s}/${me}-saw' } }`;
    p.write(
      'Ottofile',
      `pipeline {\n  parallel {\n    ${branch('P1', 'P2')}\n    ${branch('P2', 'P1')}\n  }\n}\n`,
    );
    const r = p.otto(['run', '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(lines(join(s, 'P1-saw')), ['P1']);
    assert.deepEqual(lines(join(s, 'P2-saw')), ['P2']);
    assert.ok(!existsSync(join(p.dir, 'same.txt')));
  },
);

test('workspaces: --in-place runs in the project directory itself', async (t) => {
  const p = project(t, '');
  p.write('input.txt', 'input\n');
  p.write(
    'Ottofile',
    `pipeline {\n  stage('Here') { steps { sh 'cat input.txt > copied.txt; echo in-place > made.txt' } }\n}\n`,
  );
  const r = p.otto(['run', '--in-place']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(p.dir, 'made.txt'), 'utf8'), 'in-place\n');
  assert.equal(readFileSync(join(p.dir, 'copied.txt'), 'utf8'), 'input\n');
});
