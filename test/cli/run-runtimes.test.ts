// Runtimes: a runtime no agent here offers is refused clearly before the stage's steps; the sandbox
// runtime runs under bubblewrap with a read-only system and no network.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fixturesDir, nodeBin, project } from './run-helpers.js';

test('runtimes: a docker stage is refused before it starts, naming the stage and docker', async (t) => {
  const p = project(t, '');
  const s = p.scratch;
  p.write(
    'Ottofile',
    `pipeline {
  stage('First') { steps { sh 'touch ${s}/first-ran' } }
  stage('Image') {
    runtime { docker { image = 'node:20' } }
    steps { sh 'touch ${s}/docker-ran' }
  }
  stage('After') { steps { sh 'touch ${s}/after-ran' } }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr.split('\n').find((l) => l.startsWith('warning')) ?? '',
    /stage 'Image'.*docker/,
    'a warning before the run names the stage and docker',
  );
  assert.ok(!existsSync(join(s, 'docker-ran')), 'a step of the docker stage ran on the host');
  assert.ok(!existsSync(join(s, 'after-ran')));
  const run = p.run('1');
  const image = run.stages.find((x) => x.path === 'Image');
  assert.equal(image?.status, 'failed');
  assert.match(image?.message ?? '', /'Image'/);
  assert.match(image?.message ?? '', /docker/i);
  assert.equal(run.stages.find((x) => x.path === 'After')?.status, 'skipped');
  const logs = p.otto(['logs', '1', 'Image']);
  assert.ok(
    !logs.stdout.includes('workspace'),
    `the docker stage got a workspace and started: ${logs.stdout}`,
  );
});

function bwrapProblem(): string | undefined {
  const r = spawnSync(
    'bwrap',
    [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--unshare-pid',
      '--unshare-net',
      '--',
      'true',
    ],
    { encoding: 'utf8' },
  );
  if (r.error) return `bubblewrap is not installed (${r.error.message})`;
  if (r.status !== 0) return `bubblewrap cannot create namespaces here: ${r.stderr.trim()}`;
  return undefined;
}

const noBwrap = bwrapProblem();

test(
  'runtimes: a sandbox stage runs under bubblewrap: its workspace is writable, /etc is not, and it has no network',
  { skip: noBwrap, timeout: 30_000 },
  async (t) => {
    // A port on the host's loopback: reachable from a local stage, not from a sandbox without network.
    const server: Server = createServer((c) => c.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const connect = `${nodeBin} ${join(fixturesDir, 'connect.mjs')} ${port}`;
    const p = project(t, '');
    p.write(
      'Ottofile',
      `pipeline {
  stage('Host') { steps { sh '${connect}' } }
  stage('Box') {
    runtime { sandbox { network = false } }
    steps {
      sh 'echo written-in-box > ws.txt; cat ws.txt'
      sh 'if touch /etc/otto-sandbox-probe 2>/dev/null; then echo ETC-WRITABLE; exit 1; else echo etc-is-read-only; fi'
      sh 'echo "pid1=$(cat /proc/1/comm)"'
      sh 'echo "interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ",")"'
      sh 'if ${connect}; then echo NETWORK-REACHABLE; exit 1; fi'
    }
  }
}
`,
    );
    const r = p.otto(['run']);
    const out = r.stdout;
    assert.equal(r.code, 0, `${r.stderr}\n${out}`);
    assert.match(out, /\[Host\] connected/, 'control: a local stage reaches the port');
    assert.match(out, /\[Box\] written-in-box/);
    assert.match(out, /\[Box\] etc-is-read-only/);
    assert.ok(!existsSync('/etc/otto-sandbox-probe'));
    assert.match(out, /\[Box\] pid1=bwrap/, 'the step runs in bubblewrap’s pid namespace');
    assert.match(out, /\[Box\] interfaces=lo,\n/, 'only the loopback interface inside the sandbox');
    assert.match(out, /\[Box\] unreachable: /);
    assert.equal(p.run('1').stages.find((x) => x.path === 'Box')?.status, 'succeeded');
  },
);

test(
  'runtimes: a sandbox with network = true keeps the host network',
  { skip: noBwrap, timeout: 30_000 },
  async (t) => {
    const server: Server = createServer((c) => c.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const p = project(t, '');
    p.write(
      'Ottofile',
      `pipeline {\n  stage('Box') {\n    runtime { sandbox { network = true } }\n    steps { sh '${nodeBin} ${join(fixturesDir, 'connect.mjs')} ${port}' }\n  }\n}\n`,
    );
    const r = p.otto(['run']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\[Box\] connected/);
  },
);
