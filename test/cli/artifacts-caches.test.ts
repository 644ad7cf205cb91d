// Artifacts and caches end to end: real `otto run` processes in temp projects, each with its own
// .otto (and so its own object store), checking what steps see and what the logs say.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOtto, tempDir, type OttoResult } from '../helpers.js';

interface StageJson {
  readonly path: string;
  readonly status: string;
  readonly message: string;
}

interface Project {
  readonly dir: string;
  /** A directory beside the project (outside every workspace), for the escape attempts. */
  readonly outside: string;
  write(name: string, text: string): void;
  /** `otto run --json`: exit code, the run's stages, and the run's logs (`otto logs <id>`). */
  run(): { code: number | null; stages: Map<string, StageJson>; logs: string; id: string };
}

function project(t: { after: (fn: () => void) => void }, ottofile: string): Project {
  const root = tempDir('otto-objects-test-');
  t.after(root.cleanup);
  const dir = join(root.path, 'project');
  const outside = join(root.path, 'outside');
  mkdirSync(dir);
  mkdirSync(outside);
  writeFileSync(join(dir, 'Ottofile'), ottofile);
  // The store must be the project's own .otto, whatever the caller's environment says.
  const otto = (args: string[]): OttoResult =>
    runOtto(args, { cwd: dir, env: { OTTO_HOME: undefined }, timeoutMs: 60_000 });
  return {
    dir,
    outside,
    write: (name, text) => writeFileSync(join(dir, name), text),
    run() {
      const r = otto(['run', '--json']);
      let parsed: { id: string; stages: StageJson[] };
      try {
        parsed = JSON.parse(r.stdout) as { id: string; stages: StageJson[] };
      } catch {
        throw new Error(
          `otto run --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
        );
      }
      const logs = otto(['logs', parsed.id]);
      return {
        code: r.code,
        id: parsed.id,
        stages: new Map(parsed.stages.map((s) => [s.path, s])),
        logs: logs.stdout,
      };
    },
  };
}

/** The workspace a stage used in a run (`.otto/runs/<id>/ws/<slug>`). */
function workspaceOf(p: Project, runId: string, stage: string): string {
  const ws = join(p.dir, '.otto', 'runs', runId, 'ws');
  const slug = readdirSync(ws).find((d) =>
    d.startsWith(`${stage.replace(/[^A-Za-z0-9._-]+/g, '_')}-`),
  );
  assert.ok(slug, `a workspace for ${stage} in ${readdirSync(ws).join(', ')}`);
  return join(ws, slug);
}

test('artifacts from both branches of a parallel block reach a later stage, with content and modes', (t) => {
  const p = project(
    t,
    `pipeline {
  parallel {
    stage('Web') {
      steps {
        sh 'mkdir -p dist/css && echo "<h1>hi</h1>" > dist/index.html && echo "body {}" > dist/css/site.css'
        archive 'dist/**', name: 'web'
      }
    }
    stage('Tool') {
      steps {
        sh 'mkdir -p bin && echo "#!/bin/sh" > bin/tool && echo "echo tool ran" >> bin/tool && chmod 755 bin/tool'
        archive 'bin/tool', name: 'tool'
      }
    }
  }
  stage('Package') {
    steps {
      unarchive 'web', into: 'public'
      unarchive 'tool', into: 'bin'
      sh 'test "$(cat public/index.html)" = "<h1>hi</h1>" && test -f public/css/site.css && test "$(stat -c %a bin/tool)" = 755 && ./bin/tool'
    }
  }
}
`,
  );
  const r = p.run();
  assert.equal(r.code, 0, r.logs);
  for (const stage of ['Web', 'Tool', 'Package'])
    assert.equal(r.stages.get(stage)?.status, 'succeeded', stage);
  assert.match(r.logs, /\[Web\] artifact web: stored 2 files, 20 bytes from dist\//);
  assert.match(r.logs, /\[Tool\] artifact tool: stored 1 file, 24 bytes from bin\//);
  assert.match(r.logs, /\[Package\] artifact web: fetched 2 files, 20 bytes into public/);
  assert.match(r.logs, /\[Package\] artifact tool: fetched 1 file, 24 bytes into bin/);
  assert.match(r.logs, /\[Package\] tool ran/);
  const ws = workspaceOf(p, r.id, 'Package');
  assert.equal(readFileSync(join(ws, 'public/css/site.css'), 'utf8'), 'body {}\n');
  assert.equal(statSync(join(ws, 'bin/tool')).mode & 0o777, 0o755);
});

test('archive patterns and unarchive targets written to leave the workspace are refused before anything runs', (t) => {
  const p = project(t, '');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Absolute') {
    steps { archive '/etc/hostname', name: 'abs' }
  }
  stage('Up') {
    steps { archive '../**', name: 'up' }
  }
  stage('Into') {
    steps {
      sh 'echo x > x.txt'
      archive 'x.txt', name: 'x'
      unarchive 'x', into: '../escape'
    }
  }
  stage('Absolute into') {
    steps { unarchive 'x', into: '${p.outside}' }
  }
}
`,
  );
  const r = runOtto(['run'], { cwd: p.dir, env: { OTTO_HOME: undefined }, timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /E0309.*'\/etc\/hostname' is an absolute path/);
  assert.match(r.stderr, /E0309.*'\.\.\/\*\*' leaves the workspace with '\.\.'/);
  assert.match(r.stderr, /E0309.*'\.\.\/escape' leaves the workspace with '\.\.'/);
  assert.equal((r.stderr.match(/E0309/g) ?? []).length, 4, r.stderr);
  assert.equal(existsSync(join(p.dir, '.otto', 'runs')), false, 'nothing ran');
  assert.deepEqual(readdirSync(p.outside), []);
});

test('archive and unarchive through a symbolic link out of the workspace fail their stage; nothing is written outside', (t) => {
  const ottofile = (outside: string): string => `pipeline {
  parallel {
    failFast = false
    stage('Link') {
      steps {
        sh 'ln -s ${outside}/secret.txt leak.txt'
        archive 'leak.txt', name: 'leak'
      }
    }
    stage('Linked into') {
      steps {
        sh 'echo y > y.txt && ln -s ${outside} public'
        archive 'y.txt', name: 'y'
        unarchive 'y', into: 'public'
      }
    }
  }
}
`;
  const p = project(t, '');
  p.write('Ottofile', ottofile(p.outside));
  writeFileSync(join(p.outside, 'secret.txt'), 'top secret\n');
  const r = p.run();
  assert.equal(r.code, 1);
  const failed = (stage: string, message: RegExp): void => {
    const s = r.stages.get(stage);
    assert.equal(s?.status, 'failed', `${stage}: ${JSON.stringify(s)}`);
    assert.match(s?.message ?? '', message, stage);
  };
  failed(
    'Link',
    /^STORE leak: 'leak.txt' is a symbolic link to '.*\/outside\/secret.txt', outside the workspace/,
  );
  failed(
    'Linked into',
    /^FETCH y: .*public is a symbolic link to .*outside, outside the workspace; nothing is restored through it$/,
  );
  assert.equal(
    (r.logs.match(/\[Link\] STORE leak: 'leak.txt' is a symbolic link/g) ?? []).length,
    1,
    `the failure is logged once:\n${r.logs}`,
  );
  assert.deepEqual(
    readdirSync(p.outside),
    ['secret.txt'],
    'nothing was written outside the workspaces',
  );
});

const CACHED = `pipeline {
  stage('Deps') {
    cache {
      gems {
        paths = ['vendor/']
        key = 'Gemfile.lock'
      }
      use gems
    }
    steps {
      sh 'if [ -f vendor/marker ]; then echo "restored: $(cat vendor/marker)"; else mkdir -p vendor/bin && echo "built from $(cat Gemfile.lock)" > vendor/marker && echo "#!/bin/sh" > vendor/bin/rake && chmod 755 vendor/bin/rake; fi'
    }
  }
}
`;

test('a cache misses in the first run, is saved, hits in the second; a changed key file misses', (t) => {
  const p = project(t, CACHED);
  p.write('Gemfile.lock', 'rake (13.0)\n');
  const first = p.run();
  assert.equal(first.code, 0, first.logs);
  assert.match(first.logs, /\[Deps\] cache gems: miss\n/);
  assert.match(
    first.logs,
    /\[Deps\] cache gems: saved, 2 files, 33 bytes \(2 new files, 33 bytes written\)/,
  );

  const second = p.run();
  assert.equal(second.code, 0, second.logs);
  assert.match(second.logs, /\[Deps\] cache gems: hit, 2 files, 33 bytes\n/);
  assert.match(second.logs, /\[Deps\] restored: built from rake \(13\.0\)/);
  assert.ok(
    second.logs.indexOf('cache gems: hit') < second.logs.indexOf('restored: built'),
    'restored before the step',
  );
  assert.match(second.logs, /\[Deps\] cache gems: restored by its key, not saved again/);
  assert.equal(
    statSync(join(workspaceOf(p, second.id, 'Deps'), 'vendor/bin/rake')).mode & 0o777,
    0o755,
  );

  p.write('Gemfile.lock', 'rake (13.1)\n');
  const third = p.run();
  assert.equal(third.code, 0, third.logs);
  assert.match(third.logs, /\[Deps\] cache gems: miss\n/);
  assert.doesNotMatch(third.logs, /restored:/);
  assert.match(
    third.logs,
    /\[Deps\] cache gems: saved, 2 files, 33 bytes \(1 new file, 23 bytes written\)/,
  );
});

test("save = 'always' saves after a failed step; a plain cache does not", (t) => {
  const p = project(
    t,
    `pipeline {
  stage('Deps') {
    cache {
      gems {
        paths = ['vendor/']
        save = 'always'
      }
      assets = ['assets/']
      use gems, assets
    }
    steps {
      sh 'if [ -f vendor/marker ]; then echo "restored: $(cat vendor/marker)"; exit 0; fi; mkdir -p vendor assets && echo partial > vendor/marker && echo a > assets/a && exit 3'
    }
  }
}
`,
  );
  const first = p.run();
  assert.equal(first.code, 1);
  assert.equal(first.stages.get('Deps')?.status, 'failed');
  assert.match(first.logs, /\[Deps\] cache gems: saved, 1 file, 8 bytes/);
  assert.doesNotMatch(first.logs, /cache assets: saved/);

  const second = p.run();
  assert.equal(second.code, 0, second.logs);
  assert.match(second.logs, /\[Deps\] cache gems: hit, 1 file, 8 bytes/);
  assert.match(second.logs, /\[Deps\] cache assets: miss/);
  assert.match(second.logs, /\[Deps\] restored: partial/);
});
