// The checker: the original Otto's files, and the rules that can be checked without running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, loadProgram, loadProgramFromSource, SourceFile, type Diagnostic } from '../../src/lang/index.js';
import { compatDir, tempDir } from '../helpers.js';

function diags(text: string): Diagnostic[] {
  return [...check(loadProgramFromSource(new SourceFile('Ottofile', text))).diagnostics];
}

function codesOf(text: string): string[] {
  return diags(text).map((d) => d.code);
}

function checkFile(path: string): Diagnostic[] {
  return [...check(loadProgram(path)).diagnostics];
}

test('otto-compat 2019 webapp.otto and matrix.otto check cleanly', () => {
  for (const f of ['webapp.otto', 'matrix.otto']) {
    assert.deepEqual(checkFile(join(compatDir, '2019', f)).map((d) => d.message), [], f);
  }
});

test('otto-compat 2020: every valid file checks, every invalid file fails where the problem is', () => {
  for (const f of readdirSync(join(compatDir, '2020', 'valid'))) {
    assert.deepEqual(checkFile(join(compatDir, '2020', 'valid', f)).map((d) => d.message), [], f);
  }
  assert.deepEqual(checkFile(join(compatDir, '2020', 'Ottofile')).map((d) => d.message), []);
  const empty = checkFile(join(compatDir, '2020', 'invalid', '00_empty.otto'));
  assert.deepEqual(empty.map((d) => d.code), ['E0205']);
  const missing = checkFile(join(compatDir, '2020', 'invalid', '01_missing_steps.otto'));
  assert.deepEqual(missing.map((d) => d.code), ['E0501']);
  const pos = missing[0]?.source.position(missing[0].span.start);
  assert.deepEqual(pos, { line: 5, column: 13 });
});

test('otto-compat rubygem.blueprint and its draft check together; alone the draft says what is missing', () => {
  const alone = checkFile(join(compatDir, '2019', 'rubygem.otto.draft'));
  assert.deepEqual(alone.map((d) => d.code), ['E0606']);
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'blueprints'));
    cpSync(join(compatDir, '2019', 'rubygem.otto.draft'), join(dir.path, 'Ottofile'));
    cpSync(join(compatDir, '2019', 'rubygem.blueprint'), join(dir.path, 'blueprints', 'rubygem.blueprint'));
    assert.deepEqual(checkFile(join(dir.path, 'Ottofile')).map((d) => d.message), []);
    assert.deepEqual(checkFile(join(compatDir, '2019', 'rubygem.blueprint')).map((d) => d.message), []);
  } finally {
    dir.cleanup();
  }
});

test('otto-compat slack.otto sketch parses and gets clear diagnostics, no crash', () => {
  const d = checkFile(join(compatDir, '2019', 'common', 'slack', 'slack.otto'));
  assert.deepEqual(d.map((x) => x.code), ['E0205', 'W0109']);
});

test('pipeline { } alone is valid', () => {
  assert.deepEqual(codesOf('pipeline { }'), []);
});

test('unknown settings, steps and kwargs come with did-you-mean', () => {
  const d = diags(`pipeline {
  stage('Build') {
    timout = '1h'
    steps {
      shh 'make'
      git url: 'x', brnch: 'main'
    }
  }
}`);
  assert.deepEqual(d.map((x) => [x.code, x.help]), [
    ['E0301', "did you mean 'timeout'?"],
    ['E0401', "did you mean 'sh'?"],
    ['E0403', "did you mean 'branch'?"],
  ]);
});

test('missing required step arguments and too many positional ones', () => {
  assert.deepEqual(codesOf("pipeline { steps {\n sh\n echo 'a', 'b'\n unarchive into: 'x'\n} }"), ['E0402', 'E0404', 'E0402']);
});

test('duplicate stage names are found after each expansion', () => {
  assert.deepEqual(codesOf(`pipeline {
  each('a', 'b') { stage { name = 'Test'
    steps { sh 'x' } } }
}`), ['E0503']);
  assert.deepEqual(codesOf(`pipeline {
  each('a', 'b') { stage { name = "Test \${it}"
    steps { sh 'x' } } }
  stage('Test a') { steps { sh 'y' } }
}`), ['E0503']);
  assert.deepEqual(codesOf(`pipeline {
  each('a', 'b') as os { each('x', 'y') { stage { name = concat(os, '-', it)
    steps { sh 'x' } } } }
}`), []);
});

test('from references: unknown, ambiguous, later, parallel, and fine', () => {
  assert.deepEqual(codesOf(`pipeline {
  stage('Build') { steps { sh 'b' } }
  stage('Test') { runtime { from 'Biuld' } steps { sh 't' } }
}`), ['E0601']);
  assert.deepEqual(codesOf(`pipeline {
  stage('Test') { runtime { from 'Build' } steps { sh 't' } }
  stage('Build') { steps { sh 'b' } }
}`), ['E0610']);
  assert.deepEqual(codesOf(`pipeline {
  parallel {
    stage('Build') { steps { sh 'b' } }
    stage('Test') { runtime { from 'Build' } steps { sh 't' } }
  }
}`), ['E0610']);
  assert.deepEqual(codesOf(`pipeline {
  stage('A') { stage('Build') { steps { sh 'a' } } }
  stage('B') { stage('Build') { steps { sh 'b' } } }
  stage('C') { runtime { from 'Build' } steps { sh 'c' } }
  stage('D') { runtime { from 'B/Build' } steps { sh 'd' } }
}`), ['E0602']);
});

test('environments, caches and credentials are checked by name', () => {
  assert.deepEqual(codesOf(`environments { production { } }
pipeline {
  stage('Build') { cache { gems = ['vendor/'] } steps { sh 'b' } }
  stage('Deploy') {
    environment -> prod
    cache { use gem }
    credentials = ['deploy-key']
    steps { sh 'd' }
  }
}`), ['W0103', 'E0603', 'E0604', 'E0306']);
});

test('durations and cron expressions', () => {
  assert.deepEqual(codesOf(`pipeline {
  timeout = '2 hours'
  triggers { cron = ['0 3 * * *', '61 * * * *', '@daily', '@sometimes'] }
  steps { sh 'x' }
}`), ['E0304', 'E0305', 'E0305']);
});

test('blueprint var types, defaults, required vars and unknown vars', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'lib.otto'), `blueprint {
  vars {
    image { type string }
    deploy { type boolean default 'yes' }
    tags { type list }
  }
  stage('Build') { runtime { docker { image = vars.image } } steps { sh 'make' } }
}`);
    writeFileSync(join(dir.path, 'Ottofile'), `use { './lib.otto' }
pipeline {
  from 'lib' { deploy = 'no' colour = 'red' }
}`);
    const d = checkFile(join(dir.path, 'Ottofile'));
    assert.deepEqual(d.map((x) => `${x.source.path.endsWith('lib.otto') ? 'lib' : 'main'} ${x.code}`), [
      'main E0703',
      'main E0703',
      'main E0705',
      'main E0704',
      'lib E0702',
      'lib E0701',
    ]);
  } finally {
    dir.cleanup();
  }
});

test('names in expressions: loop variables, vars, env, run, and shell variables in the wrong quotes', () => {
  const d = diags(`environments { prod { settings { HOST = 'x' } } }
pipeline {
  each('a') as os {
    stage {
      name = "T \${os}"
      environment -> prod
      steps {
        sh "echo \${os} \${env.HOST} \${run.branch} \${vars.anything}"
        sh "echo \${HOME}"
        sh "echo \${env.PORT}"
      }
    }
  }
}`);
  assert.deepEqual(d.map((x) => x.code), ['W0110', 'E0607', 'E0607']);
  assert.match(d[1]?.help ?? '', /shell variable/);
  assert.match(d[2]?.help ?? '', /environment 'prod' has settings 'HOST'/);
});

test('a stage with nothing to do, an empty steps block, an approval-only stage', () => {
  assert.deepEqual(codesOf("pipeline { stage('A') { timeout = '1h' } }"), ['E0502']);
  assert.deepEqual(codesOf("pipeline { stage('A') { steps { } } }"), ['E0501']);
  assert.deepEqual(codesOf("pipeline { stage('Approve') { gates { enter { input 'Ship?' } } } }"), []);
});

test('gate steps stand only in gates, notifications only where allowed', () => {
  assert.deepEqual(codesOf(`pipeline { stage('A') {
  gates { enter { sh 'x' } exit { branch == 'main' } }
  notify { success { sh 'y' } }
  steps { input 'go?' }
} }`), ['E0406', 'E0406', 'E0406', 'E0406']);
});

test('warnings: unknown event, never-true condition, unreachable step, one-branch parallel, retried deployment', () => {
  assert.deepEqual(codesOf(`environments { prod { } }
pipeline {
  parallel { stage('Only') { steps { sh 'x' } } }
  stage('A') {
    when { event == 'psuh' }
    steps { error 'stop'
      sh 'never' }
  }
  stage('B') {
    environment -> prod
    retry = 2
    when { branch == 'a' && branch == 'b' }
    steps { sh 'x' }
  }
}`), ['W0106', 'W0101', 'W0105', 'W0107', 'W0102']);
});

test('checking a program never throws on the compat corpus with extra noise', () => {
  for (const f of ['webapp.otto', 'matrix.otto', 'rubygem.blueprint']) {
    const r = check(loadProgram(join(compatDir, '2019', f)));
    assert.ok(Array.isArray(r.diagnostics));
  }
});
