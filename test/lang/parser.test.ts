// The parser: every construct of the language, spans, and recovery that reports every problem at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser/index.js';
import { SourceFile } from '../../src/lang/source.js';
import type { OttoFile, Pipeline, Stage, Step } from '../../src/lang/ast.js';

function parseOk(text: string): OttoFile {
  const r = parse(new SourceFile('t.otto', text));
  assert.deepEqual(r.diagnostics.map((d) => `${d.code} ${d.message}`), []);
  return r.file;
}

function codes(text: string): string[] {
  return parse(new SourceFile('t.otto', text)).diagnostics.map((d) => d.code);
}

function pipeline(file: OttoFile): Pipeline {
  const p = file.items.find((i) => i.kind === 'pipeline');
  assert.ok(p && p.kind === 'pipeline');
  return p;
}

test('both stage forms, nested stages, settings and steps', () => {
  const f = parseOk(`pipeline {
  stage('Build') {
    timeout = '10m'
    steps { sh 'make' }
    stage { name = 'Inner'
      steps { echo "hi" } }
  }
}`);
  const stage = pipeline(f).items[0] as Stage;
  assert.equal(stage.kind, 'stage');
  assert.equal(stage.label?.raw, "'Build'");
  assert.deepEqual(stage.items.map((i) => i.kind), ['setting', 'steps', 'stage']);
});

test('every AST node carries a span that covers its text', () => {
  const text = "pipeline {\n  steps { sh 'ls' }\n}\n";
  const f = parseOk(text);
  const steps = pipeline(f).items[0];
  assert.ok(steps && steps.kind === 'steps');
  assert.equal(text.slice(steps.span.start, steps.span.end), "steps { sh 'ls' }");
  const sh = steps.steps[0] as Step;
  assert.equal(text.slice(sh.span.start, sh.span.end), "sh 'ls'");
  assert.equal(text.slice(sh.name.span.start, sh.name.span.end), 'sh');
});

test('kwargs, positional arguments, commas across lines, and block steps', () => {
  const f = parseOk(`pipeline {
  steps {
    git url: 'https://x/y.git',
        branch: 'main', into: '.'
    archive 'dist/**', name: 'site'
    dir 'web' {
      sh 'npm test'
    }
    sh 'a'
    sh 'b'
  }
}`);
  const steps = pipeline(f).items[0];
  assert.ok(steps && steps.kind === 'steps');
  assert.deepEqual(steps.steps.map((s) => `${s.name.name}/${s.args.length}/${s.body ? s.body.length : '-'}`), ['git/3/-', 'archive/2/-', 'dir/1/1', 'sh/1/-', 'sh/1/-']);
});

test('parallel, each with as, nested each, orphan steps and stages blocks', () => {
  const f = parseOk(`pipeline {
  steps { sh 'ls' }
  stages {
    parallel {
      failFast = false
      each('a', 'b') as os {
        each([1, 2]) { stage { name = "T \${os} \${it}"
          steps { sh 'x' } } }
      }
    }
  }
}`);
  const items = pipeline(f).items;
  assert.deepEqual(items.map((i) => i.kind), ['steps', 'stages']);
});

test('gates with conditions, input, webhook and poll; when; notify; environment; runtime; cache', () => {
  parseOk(`environments { production { settings { HOST = "x" } credentials = ['KEY'] } }
pipeline {
  stage('Deploy') {
    environment -> production
    when { branch == 'main' || tag =~ 'v*' && !(event == 'cron') }
    gates {
      from 'Other'
      enter {
        branch == 'main'
        input 'Ship?', approvers: ['ops'], timeout: '1h'
      }
      exit {
        webhook { description = 'Pingdom' timeout = '30m' }
        poll { url = 'https://x/health' expect = 200 }
      }
    }
    runtime { docker { image = 'ruby' } }
    cache { gems = ['vendor/'] use gems, assets  from 'Build' }
    notify { success { slack 'ok' } failure { slack 'no' } complete { echo 'done' } }
    steps { sh 'deploy' }
  }
}`);
});

test('use, configure, triggers, from blueprint with vars, blueprint with vars', () => {
  parseOk(`use {
  stdlib
  './blueprints/rubygem.otto' as gem
  'https://example.com/lib.tar.gz'
}
configure { slack { channel = '#otto' } }
pipeline {
  triggers { push { branches = ['main', 'release/*'] } pullRequest {} tag { pattern = 'v*' } cron = '0 3 * * *' }
  from 'gem' { rubyVersion = 'ruby:3.3' deploy = false }
}`);
  parseOk(`blueprint {
  vars {
    rubyVersion { description 'Ruby image' default 'ruby' type string }
    deploy { description = 'push?' default = true type = boolean }
  }
  stages { stage('Build') { steps { sh 'bundle' } } }
}`);
});

test('settings may break across lines around =', () => {
  parseOk("pipeline {\n  stage {\n    name\n    =\n    'Deploy'\n    steps\n    {\n      sh 'x'\n    }\n  }\n}");
});

test('the parser reports every independent error in one pass', () => {
  const r = codes(`pipeline {
  stges { }
  stage('A') {
    name 'x'
    steps { sh 'a' }
  }
  stage('B') {
    when { branch = 'main' }
    steps { sh 'b' }
  }
  paralel { }
}`);
  assert.deepEqual(r, ['E0202', 'E0201', 'E0201', 'E0202']);
});

test('an unclosed block points at its opening brace', () => {
  const r = parse(new SourceFile('t.otto', "pipeline {\n  stage('A') {\n    steps { sh 'a' }\n}\n"));
  const d = r.diagnostics[0];
  assert.equal(d?.code, 'E0208');
  assert.equal(d?.message, "'{' of 'pipeline' on line 1 is never closed");
});

test('junk at the top level and an unmatched brace', () => {
  assert.deepEqual(codes("pipeline { }\nsh 'x'\n}"), ['E0203', 'E0209']);
});

test('unknown blocks suggest the nearest keyword', () => {
  const r = parse(new SourceFile('t.otto', 'pipeline { stage { steps { sh "a" } gaets { } } }'));
  assert.equal(r.diagnostics[0]?.help, "did you mean 'gates'?");
});

test('the 2019 step sketch parses', () => {
  const f = parseOk('step {\n  vars {\n  }\n}\n');
  assert.equal(f.items[0]?.kind, 'step-sketch');
});

test('a file of only comments parses to nothing', () => {
  const f = parseOk('// nothing\n/* at all */\n');
  assert.equal(f.items.length, 0);
  assert.equal(f.comments.length, 2);
});
