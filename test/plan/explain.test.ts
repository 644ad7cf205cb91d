// `otto explain`: the original Otto's files, determinism across processes, skip reasons, graph
// formats, context flags, zero configuration and `otto init`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../src/protocol/plan.js';
import { compatDir, ottoBin, runOtto, tempDir } from '../helpers.js';

function explainJson(args: string[], cwd?: string): Plan {
  const r = runOtto(['explain', '--json', ...args], cwd ? { cwd } : {});
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as Plan;
}

test('otto-compat webapp.otto, matrix.otto and every 2020 valid file explain', () => {
  const webapp = explainJson([join(compatDir, '2019', 'webapp.otto'), '--branch', 'master']);
  assert.deepEqual(webapp.stages.map((s) => s.path), ['Build', 'Test', 'Deploy', 'Deploy/Pre-production', 'Deploy/Production']);
  const prod = webapp.stages[4];
  assert.equal(prod?.skip, null);
  assert.deepEqual(prod?.gates.enter.map((g) => g.kind), ['input']);
  assert.deepEqual(prod?.gates.exit.map((g) => g.kind), ['input', 'webhook']);
  const matrix = explainJson([join(compatDir, '2019', 'matrix.otto')]);
  const tests = matrix.stages.filter((s) => s.path.startsWith('Test'));
  assert.deepEqual(tests.map((s) => s.path), ['Testwin10', 'Testmacos', 'Testlinux-jdk12', 'Testlinux-jdk8']);
  assert.deepEqual(tests.map((s) => s.runtime), ['win10', 'macos', 'linux-jdk12', 'linux-jdk8'].map((label) => ({ kind: 'computer', label })));
  for (const f of readdirSync(join(compatDir, '2020', 'valid'))) explainJson([join(compatDir, '2020', 'valid', f)]);
  const ottofile = explainJson([join(compatDir, '2020', 'Ottofile')]);
  assert.deepEqual(ottofile.stages.map((s) => s.path), ['stage-1', 'Build']);
});

test('rubygem draft with its blueprint: Deploy present, or skipped by vars.deploy', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'blueprints'));
    cpSync(join(compatDir, '2019', 'rubygem.otto.draft'), join(dir.path, 'Ottofile'));
    cpSync(join(compatDir, '2019', 'rubygem.blueprint'), join(dir.path, 'blueprints', 'rubygem.blueprint'));
    const plan = explainJson([], dir.path);
    assert.deepEqual(plan.stages.map((s) => [s.path, s.skip]), [['Build', null], ['Test', null], ['Deploy', null]]);
    assert.deepEqual(plan.stages[0]?.runtime, { kind: 'docker', image: 'ruby', args: [] });
    writeFileSync(join(dir.path, 'Ottofile'), "use { 'blueprints/rubygem' }\npipeline {\n  from 'blueprints/rubygem' { deploy = false }\n}\n");
    const skipped = explainJson([], dir.path);
    assert.equal(skipped.stages[2]?.skip, 'vars.deploy is false, needs vars.deploy');
    const text = runOtto(['explain'], { cwd: dir.path });
    assert.match(text.stdout, /○ Deploy {2}skipped\n\s+why\s+vars\.deploy is false, needs vars\.deploy/);
  } finally {
    dir.cleanup();
  }
});

test('same inputs, same bytes: two processes with different cwd and environment', () => {
  const file = join(compatDir, '2019', 'webapp.otto');
  const args = ['explain', '--json', file, '--branch', 'master', '--sha', 'abc123', '--var', 'b=2', '--var', 'a=1'];
  const one = spawnSync(ottoBin, [...args], { cwd: '/', encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent', TZ: 'UTC', LANG: 'C' } });
  const dir = tempDir();
  try {
    const two = spawnSync(ottoBin, [...args], { cwd: dir.path, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir.path, TZ: 'Asia/Tokyo', LANG: 'de_DE.UTF-8', OTTO_SOMETHING: 'x' } });
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    assert.equal(one.stdout, two.stdout);
    const plan = JSON.parse(one.stdout) as Plan;
    assert.match(plan.planHash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(plan.context.vars, { a: '1', b: '2' });
    assert.doesNotMatch(one.stdout, /\/work\/|\/tmp\//, 'no absolute paths in the plan');
  } finally {
    dir.cleanup();
  }
});

test('the plan hash changes with the context and the source', () => {
  const file = join(compatDir, '2019', 'matrix.otto');
  const a = explainJson([file, '--branch', 'main']);
  const b = explainJson([file, '--branch', 'dev']);
  assert.notEqual(a.planHash, b.planHash);
  assert.equal(a.planHash, explainJson([file, '--branch', 'main']).planHash);
});

test('secret values never appear in a plan; their names do', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'Ottofile'), "environments { prod { credentials = ['DEPLOY_KEY'] } }\npipeline { stage('Deploy') { environment -> prod\n credentials = ['API_TOKEN']\n steps { sh 'deploy' } } }\n");
    const r = runOtto(['explain', '--json'], { cwd: dir.path, env: { DEPLOY_KEY: 'hunter2-value', API_TOKEN: 'tok-value' } });
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stdout, /hunter2-value|tok-value/);
    const plan = JSON.parse(r.stdout) as Plan;
    assert.deepEqual(plan.stages[0]?.credentials, ['API_TOKEN', 'DEPLOY_KEY']);
    const setvars = plan.stages[0]?.manifest.ops.find((o) => o.op === 'SETVARS');
    assert.ok(setvars && setvars.op === 'SETVARS');
    assert.deepEqual(setvars.vars.filter((v) => v.secret), [{ name: 'API_TOKEN', secret: true }, { name: 'DEPLOY_KEY', secret: true }]);
  } finally {
    dir.cleanup();
  }
});

test('skip reasons say what the value was and what was required; a skipped stage skips its children', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'Ottofile'), `pipeline {
  stage('Release') {
    when { event == 'tag' && tag =~ 'v*' }
    steps { sh 'release' }
  }
  stage('Deploy') {
    gates { enter { branch == 'main' } }
    stage('EU') { steps { sh 'eu' } }
  }
}
`);
    const plan = explainJson(['--branch', 'feat/x', '--event', 'push'], dir.path);
    assert.deepEqual(plan.stages.map((s) => s.skip), [
      "event is 'push', needs event == 'tag'",
      "enter gate: branch is 'feat/x', needs branch == 'main'",
      "the enclosing stage 'Deploy' is skipped",
    ]);
    const tagged = explainJson(['--tag', 'v1.2.0', '--branch', 'main'], dir.path);
    assert.deepEqual(tagged.stages.map((s) => s.skip), [null, null, null]);
    assert.equal(tagged.context.event, 'tag');
  } finally {
    dir.cleanup();
  }
});

test('--format dot and mermaid draw stages and gates', () => {
  const file = join(compatDir, '2019', 'webapp.otto');
  const dot = runOtto(['explain', file, '--format', 'dot']);
  assert.equal(dot.code, 0);
  assert.match(dot.stdout, /^digraph otto \{/);
  assert.match(dot.stdout, /s4_exit1 \[label="webhook: Pingdom health check", shape=diamond/);
  assert.match(dot.stdout, /s0 -> s1;/);
  const mermaid = runOtto(['explain', file, '--format', 'mermaid']);
  assert.match(mermaid.stdout, /^flowchart LR\n {2}s0\["Build"\]/);
  assert.match(mermaid.stdout, /s4_enter0\{"input: Are you extra sure that staging looks good to you\?"\}/);
  const bad = runOtto(['explain', file, '--format', 'svg']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown format 'svg'/);
});

test('context comes from git: current branch, HEAD and changed files against --base', () => {
  const dir = tempDir();
  try {
    const git = (...args: string[]): void => {
      const r = spawnSync('git', args, { cwd: dir.path, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    git('init', '-q', '-b', 'trunk');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 'T');
    mkdirSync(join(dir.path, 'charts', 'api'), { recursive: true });
    mkdirSync(join(dir.path, 'charts', 'web'), { recursive: true });
    writeFileSync(join(dir.path, 'charts', 'api', 'Chart.yaml'), 'a');
    writeFileSync(join(dir.path, 'charts', 'web', 'Chart.yaml'), 'w');
    writeFileSync(join(dir.path, 'Ottofile'), "pipeline {\n  each(changed('charts/*')) as chart {\n    stage { name = \"Lint ${basename(chart)}\"\n      steps { sh \"helm lint ${chart}\" } }\n  }\n}\n");
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    writeFileSync(join(dir.path, 'charts', 'web', 'Chart.yaml'), 'w2');
    git('commit', '-q', '-am', 'two');
    const plan = explainJson(['--base', 'HEAD~1'], dir.path);
    assert.equal(plan.context.branch, 'trunk');
    assert.match(plan.context.sha, /^[0-9a-f]{40}$/);
    assert.deepEqual(plan.context.changedFiles, ['charts/web/Chart.yaml']);
    assert.deepEqual(plan.stages.map((s) => s.path), ['Lint web']);
    const badBase = runOtto(['explain', '--base', 'nope'], { cwd: dir.path });
    assert.equal(badBase.code, 2);
    assert.match(badBase.stderr, /--base 'nope' is not a revision/);
  } finally {
    dir.cleanup();
  }
});

test('bad context flags are usage errors', () => {
  const file = join(compatDir, '2019', 'matrix.otto');
  const event = runOtto(['explain', file, '--event', 'pushed']);
  assert.equal(event.code, 2);
  assert.match(event.stderr, /unknown event 'pushed'/);
  const v = runOtto(['explain', file, '--var', 'novalue']);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /--var 'novalue' is not NAME=VALUE/);
});

test('an invalid pipeline prints its diagnostics and exits 1', () => {
  const r = runOtto(['explain', join(compatDir, '2020', 'invalid', '01_missing_steps.otto')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /error\[E0501\]/);
});

test('zero configuration: explain infers a pipeline and init writes it', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'package.json'), JSON.stringify({ name: 'x', scripts: { test: 'node --test', lint: 'eslint .', build: 'tsc' } }));
    writeFileSync(join(dir.path, 'package-lock.json'), '{}');
    const r = runOtto(['explain'], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /infers for a node project \(from package\.json\)/);
    assert.match(r.stdout, /● Install[\s\S]*parallel[\s\S]*● Lint[\s\S]*● Test[\s\S]*● Build/);
    const init = runOtto(['init'], { cwd: dir.path });
    assert.equal(init.code, 0, init.stderr);
    assert.match(readFileSync(join(dir.path, 'Ottofile'), 'utf8'), /sh 'npm ci --cache \.npm --prefer-offline'/);
    assert.equal(runOtto(['check'], { cwd: dir.path }).code, 0);
    assert.equal(runOtto(['fmt', '--check'], { cwd: dir.path }).code, 0);
    const again = runOtto(['init'], { cwd: dir.path });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /Ottofile already exists/);
  } finally {
    dir.cleanup();
  }
});

test('otto init for npm: the second run restores the download cache and does not save it again', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', scripts: { test: 'node -e "process.exit(0)"' } }));
    const lock = { name: 'x', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'x', version: '1.0.0' } } };
    writeFileSync(join(dir.path, 'package-lock.json'), JSON.stringify(lock));
    assert.equal(runOtto(['init'], { cwd: dir.path }).code, 0);
    const text = readFileSync(join(dir.path, 'Ottofile'), 'utf8');
    assert.match(text, /use packages/);
    const env = { OTTO_HOME: undefined, npm_config_cache: undefined };
    const first = runOtto(['run'], { cwd: dir.path, env, timeoutMs: 120_000 });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\[Install\] cache packages: miss/);
    assert.match(first.stdout, /\[Install\] cache packages: saved/);
    const second = runOtto(['run'], { cwd: dir.path, env, timeoutMs: 120_000 });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /\[Install\] cache packages: hit/);
    assert.match(second.stdout, /\[Install\] cache packages: restored by its key, not saved again/);
  } finally {
    dir.cleanup();
  }
});

test('zero configuration for Go, Rust, Python and Make projects', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['go.mod', 'module x\n', /go test \.\/\.\.\./],
    ['Cargo.toml', '[package]\nname = "x"\n', /cargo test/],
    ['requirements.txt', 'pytest\n', /python3 -m pytest/],
    ['Makefile', 'all:\n\ttrue\ntest:\n\ttrue\n', /make test/],
  ];
  for (const [file, content, expected] of cases) {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, file), content);
      const r = runOtto(['explain'], { cwd: dir.path });
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.match(r.stdout, expected, file);
    } finally {
      dir.cleanup();
    }
  }
  const empty = tempDir();
  try {
    const r = runOtto(['explain'], { cwd: empty.path });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /there is no Ottofile here/);
  } finally {
    empty.cleanup();
  }
});
