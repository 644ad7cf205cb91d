// The formatter keeps comments and meaning, is idempotent, and prints the canonical style.

import { test } from 'node:test';
import { compatDir } from '../helpers.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { format } from '../../src/lang/format.js';
import { parse } from '../../src/lang/parser/index.js';
import { lex } from '../../src/lang/lexer.js';
import { DiagnosticBag } from '../../src/lang/diagnostics.js';
import { SourceFile } from '../../src/lang/source.js';
import type { OttoFile } from '../../src/lang/ast.js';
import type { Comment, Token } from '../../src/lang/tokens.js';

// ---------------------------------------------------------------- helpers

function parseOk(text: string, path = 'test.otto'): OttoFile {
  const r = parse(new SourceFile(path, text));
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.code} ${d.message}`),
    [],
    `expected ${path} to parse cleanly:\n${text}`,
  );
  return r.file;
}

/** The tree without positions, the source and comments: what the file means. */
function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'span' || k === 'source' || k === 'comments') continue;
    out[k] = strip(v);
  }
  return out;
}

/** A comment's text up to what the formatter may change: trailing blanks, a block comment's indentation. */
function commentText(c: Comment): string {
  if (c.kind === 'line') return c.text.trimEnd();
  return c.text
    .split('\n')
    .map((l) => l.trim())
    .join('\n');
}

/** Formats `text` and asserts the four properties and the whitespace rules; returns the output. */
function checkProperties(text: string, label: string): string {
  const file = parseOk(text, label);
  const out = format(file);
  // 4. The output parses without diagnostics.
  const again = parse(new SourceFile(label, out));
  assert.deepEqual(
    again.diagnostics.map((d) => `${d.code} ${d.message}`),
    [],
    `${label}: output does not parse:\n${out}`,
  );
  // 1. Every comment, in order.
  assert.deepEqual(
    again.file.comments.map(commentText),
    file.comments.map(commentText),
    `${label}: comments changed:\n${out}`,
  );
  // 2. Idempotent.
  assert.equal(format(again.file), out, `${label}: a second run changed the output`);
  // 3. Same meaning.
  assert.deepStrictEqual(
    strip(again.file.items),
    strip(file.items),
    `${label}: the tree changed:\n${out}`,
  );
  // Whitespace: LF, one final newline, no trailing blanks, no tab indentation.
  if (out !== '') {
    assert.ok(
      out.endsWith('\n') && !out.endsWith('\n\n'),
      `${label}: must end with exactly one newline`,
    );
  }
  assert.ok(!out.includes('\r'), `${label}: CR in output`);
  out.split('\n').forEach((l, i) => {
    assert.ok(
      !/[ \t]$/.test(l),
      `${label}: trailing whitespace on line ${i + 1}: ${JSON.stringify(l)}`,
    );
    assert.ok(!l.startsWith('\t'), `${label}: tab indentation on line ${i + 1}`);
  });
  return out;
}

// ---------------------------------------------------------------- the compatibility corpus

const compat = compatDir;

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : name.endsWith('.md') ? [] : [p];
    });
}

void test('the compatibility corpus is where the tests expect it', () => {
  assert.ok(walk(compat).length >= 10, `no corpus under ${compat}`);
});

for (const path of walk(compat)) {
  const rel = path.slice(compat.length + 1);
  void test(`corpus: ${rel} formats with comments and meaning kept, idempotently`, (t) => {
    const text = readFileSync(path, 'utf8');
    if (parse(new SourceFile(rel, text)).diagnostics.length > 0) {
      t.skip('does not parse cleanly');
      return;
    }
    checkProperties(text, rel);
  });
}

void test('corpus: webapp.otto keeps its unclosed-looking first comment as one comment', () => {
  const text = readFileSync(join(compat, '2019', 'webapp.otto'), 'utf8');
  const out = checkProperties(text, 'webapp.otto');
  const first = parse(new SourceFile('w', out)).file.comments[0];
  assert.ok(first?.text.startsWith('/*\n * This is a description for an Otto-managed'));
  assert.ok(
    first?.text.endsWith(' /\n\n/*\n * Incorporate some libraries which define useful things\n */'),
  );
});

// ---------------------------------------------------------------- hand-written cases

interface Case {
  readonly name: string;
  readonly input: string;
  readonly expected: string;
}

const CASES: Case[] = [
  {
    name: 'an empty block prints as name {}',
    input: 'pipeline { }\n',
    expected: 'pipeline {}\n',
  },
  {
    name: 'empty file and whitespace-only file print nothing',
    input: '\n\n  \n',
    expected: '',
  },
  {
    name: 'indentation becomes two spaces, tabs and CRLF included',
    input:
      "pipeline {\r\n\tstage {\r\n\t\tname = 'Build'\r\n        steps {\r\n   sh 'ls'\r\n\t\t}\r\n\t}\r\n}",
    expected:
      "pipeline {\n  stage {\n    name = 'Build'\n    steps {\n      sh 'ls'\n    }\n  }\n}\n",
  },
  {
    name: 'top-level blocks are exactly one blank line apart',
    input:
      "use { stdlib }\npipeline {\n  timeout = '1h'\n}\n\n\n\nconfigure {\n  slack { channel = '#ci' }\n}\n",
    expected:
      "use { stdlib }\n\npipeline {\n  timeout = '1h'\n}\n\nconfigure {\n  slack { channel = '#ci' }\n}\n",
  },
  {
    name: 'blank lines inside a block collapse to one, never after { or before }',
    input: "pipeline {\n\n\n  timeout = '1h'\n\n\n\n  stage {\n    steps { sh 'a' }\n\n  }\n\n}\n",
    expected: "pipeline {\n  timeout = '1h'\n\n  stage {\n    steps { sh 'a' }\n  }\n}\n",
  },
  {
    name: 'no blank line is added where the source had none',
    input: "pipeline {\n  timeout = '1h'\n  retry = 2\n}\n",
    expected: "pipeline {\n  timeout = '1h'\n  retry = 2\n}\n",
  },
  {
    name: 'a one-line block with one simple item stays on one line',
    input:
      "pipeline {\n  stage {\n    runtime {   from 'Build'  }\n    cache { use gems,assets }\n    when {branch=='main'}\n    environment->prod\n    steps { sh 'x' }\n  }\n}\n",
    expected:
      "pipeline {\n  stage {\n    runtime { from 'Build' }\n    cache { use gems, assets }\n    when { branch == 'main' }\n    environment -> prod\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'a one-item block written over several lines is expanded',
    input: "pipeline {\n  steps {\n    sh 'x' }\n}\n",
    expected: "pipeline {\n  steps {\n    sh 'x'\n  }\n}\n",
  },
  {
    name: 'a one-line block with several items is expanded',
    input: "configure {\n  docker { image = 'node' tag = '20' }\n}\n",
    expected: "configure {\n  docker {\n    image = 'node'\n    tag = '20'\n  }\n}\n",
  },
  {
    name: 'a one-line block holding a block or a block step is expanded',
    input: "pipeline { stage { steps { dir 'web' { sh 'x' } } } }\n",
    expected: "pipeline {\n  stage {\n    steps {\n      dir 'web' { sh 'x' }\n    }\n  }\n}\n",
  },
  {
    name: 'a one-line block that would pass 100 columns is expanded',
    // 2 + `steps { sh '` (12) + 84 + `' }` is 101 columns; with 83 it is exactly 100.
    input: `pipeline {\n  steps { sh '${'x'.repeat(84)}' }\n  steps { sh '${'y'.repeat(83)}' }\n}\n`,
    expected: `pipeline {\n  steps {\n    sh '${'x'.repeat(84)}'\n  }\n  steps { sh '${'y'.repeat(83)}' }\n}\n`,
  },
  {
    name: 'a one-line block holding a comment is expanded',
    input: "pipeline {\n  steps { sh 'x' /* why */ }\n}\n",
    expected: "pipeline {\n  steps {\n    sh 'x' /* why */\n  }\n}\n",
  },
  {
    name: 'settings: name = value, however the source broke it',
    input:
      "pipeline {\n  stage {\n    name\n    =\n    'Deploy'\n    retry=3\n    steps { sh 'x' }\n  }\n}\n",
    expected:
      "pipeline {\n  stage {\n    name = 'Deploy'\n    retry = 3\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: "steps: positional args joined with ', ', kwargs as name: value",
    input:
      "pipeline {\n  steps {\n    sh 'a' 'b'\n    git url:'https://x' ,branch:  'main',\n      into: '.'\n    archive 'dist/**', name : 'web'\n    checkout\n  }\n}\n",
    expected:
      "pipeline {\n  steps {\n    sh 'a', 'b'\n    git url: 'https://x', branch: 'main', into: '.'\n    archive 'dist/**', name: 'web'\n    checkout\n  }\n}\n",
  },
  {
    name: 'block steps and nested block steps',
    input:
      "pipeline {\n  steps {\n    dir   'web'{\n      dir 'src'\n      {\n        sh 'make'\n      }\n    }\n  }\n}\n",
    expected:
      "pipeline {\n  steps {\n    dir 'web' {\n      dir 'src' {\n        sh 'make'\n      }\n    }\n  }\n}\n",
  },
  {
    name: "stage('X') and stage as written; each with and without as",
    input:
      "pipeline {\n  stage ( 'Build' ) {\n    steps { sh 'a' }\n  }\n  each ( 'linux' ,'macos' ) as   os {\n    stage { steps { sh 'b' } }\n  }\n  each([1,2]){\n    stage { steps { sh 'c' } }\n  }\n}\n",
    expected:
      "pipeline {\n  stage('Build') {\n    steps { sh 'a' }\n  }\n  each('linux', 'macos') as os {\n    stage {\n      steps { sh 'b' }\n    }\n  }\n  each([1, 2]) {\n    stage {\n      steps { sh 'c' }\n    }\n  }\n}\n",
  },
  {
    name: 'use entries, aliases and bare stdlib',
    input: 'use {\n  stdlib\n  \'./lib\'   as   lib\n  "https://x/lib.tar.gz"\n}\n',
    expected: 'use {\n  stdlib\n  \'./lib\' as lib\n  "https://x/lib.tar.gz"\n}\n',
  },
  {
    name: 'from a blueprint, with and without braces',
    input:
      "pipeline {\n  from 'rubygem' { rubyVersion = 'ruby:3.3' }\n  from 'other'\n  from 'third' { }\n  from 'fourth' {\n    a = 1\n    b = 2\n  }\n}\n",
    expected:
      "pipeline {\n  from 'rubygem' { rubyVersion = 'ruby:3.3' }\n  from 'other'\n  from 'third' {}\n  from 'fourth' {\n    a = 1\n    b = 2\n  }\n}\n",
  },
  {
    name: 'var properties keep their form',
    input:
      "blueprint {\n  vars {\n    deploy { description 'Push it'\n      default=true\n      type boolean }\n  }\n  stage { steps { sh 'x' } }\n}\n",
    expected:
      "blueprint {\n  vars {\n    deploy {\n      description 'Push it'\n      default = true\n      type boolean\n    }\n  }\n  stage {\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'gates, notify, environments, triggers',
    input:
      "environments { prod { settings { HOST = 'x' } } }\npipeline {\n  triggers { push { branches = ['main'] }\n  cron = '0 3 * * *' }\n  stage {\n    gates { from 'Build'\n      enter { branch == 'main'\n        input 'Ship?', approvers: ['a'] }\n      exit { webhook { timeout = '30m' } } }\n    notify { success { slack 'ok' } failure { slack 'no' } }\n    steps { sh 'x' }\n  }\n}\n",
    expected:
      "environments {\n  prod {\n    settings { HOST = 'x' }\n  }\n}\n\npipeline {\n  triggers {\n    push { branches = ['main'] }\n    cron = '0 3 * * *'\n  }\n  stage {\n    gates {\n      from 'Build'\n      enter {\n        branch == 'main'\n        input 'Ship?', approvers: ['a']\n      }\n      exit {\n        webhook { timeout = '30m' }\n      }\n    }\n    notify {\n      success { slack 'ok' }\n      failure { slack 'no' }\n    }\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'strings and numbers print exactly as written',
    input:
      "pipeline {\n  a = \"tab\\there ${run.branch}\"\n  b = 'it\\'s'\n  c = 1.50\n  d = -3\n  e = true\n  f = vars . x\n  g = concat( 'a' , it )\n}\n",
    expected:
      "pipeline {\n  a = \"tab\\there ${run.branch}\"\n  b = 'it\\'s'\n  c = 1.50\n  d = -3\n  e = true\n  f = vars.x\n  g = concat('a', it)\n}\n",
  },
  {
    name: 'a triple-quoted string keeps its lines byte for byte',
    input:
      "pipeline {\n    steps {\n        sh '''\n          make\n            install\n        '''\n    }\n}\n",
    expected:
      "pipeline {\n  steps {\n    sh '''\n          make\n            install\n        '''\n  }\n}\n",
  },
  {
    name: 'arrays: one line when written so, else one element per line with a trailing comma',
    input:
      "pipeline {\n  a = [ 'x','y' ]\n  b = ['x',\n    'y']\n  c = [ ]\n  d = [\n  ]\n  e = [[1, 2], [\n3]]\n}\n",
    expected:
      "pipeline {\n  a = ['x', 'y']\n  b = [\n    'x',\n    'y',\n  ]\n  c = []\n  d = []\n  e = [\n    [1, 2],\n    [\n      3,\n    ],\n  ]\n}\n",
  },
  {
    name: 'an array that would pass 100 columns is expanded, inner arrays kept if they fit',
    input: `pipeline {\n  credentials = ['${'a'.repeat(40)}', '${'b'.repeat(40)}', ['c', 'd']]\n}\n`,
    expected: `pipeline {\n  credentials = [\n    '${'a'.repeat(40)}',\n    '${'b'.repeat(40)}',\n    ['c', 'd'],\n  ]\n}\n`,
  },
  {
    name: 'conditions: spacing normalised, parentheses exactly where written',
    input:
      "pipeline {\n  stage {\n    when {\n      branch=='main'&&tag!='x'||!  event=~'p*'\n      (a || b) && !(c)\n      vars.deploy\n    }\n    steps { sh 'x' }\n  }\n}\n",
    expected:
      "pipeline {\n  stage {\n    when {\n      branch == 'main' && tag != 'x' || !event =~ 'p*'\n      (a || b) && !(c)\n      vars.deploy\n    }\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'a when with several conditions on one line is split one per line',
    input:
      "pipeline {\n  stage {\n    when { branch == 'main'\n  tag =~ 'v*' }\n    steps { sh 'x' }\n  }\n}\n",
    expected:
      "pipeline {\n  stage {\n    when {\n      branch == 'main'\n      tag =~ 'v*'\n    }\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'comments: own-line comments move to the item indentation; trailing ones stay',
    input:
      "// head\npipeline {\n// before stage\n      /* also before */\n  stage {   // on the brace line\n    name = 'x'    // after name   \n        // at the end\n  } // after stage\n}\n// tail\n",
    expected:
      "// head\npipeline {\n  // before stage\n  /* also before */\n  stage { // on the brace line\n    name = 'x' // after name\n    // at the end\n  } // after stage\n}\n// tail\n",
  },
  {
    name: 'comments: blank lines around comments are kept (collapsed), file edges included',
    input:
      '\n\n// licence\n\n\n// about the pipeline\npipeline {\n  a = 1\n\n\n  // about b\n\n  b = 2\n}\n\n\n\n// vim: ts=2\n\n',
    expected:
      '// licence\n\n// about the pipeline\npipeline {\n  a = 1\n\n  // about b\n\n  b = 2\n}\n\n// vim: ts=2\n',
  },
  {
    name: 'comments: a block comment moves its later lines with its first',
    input:
      'pipeline {\n        /*\n         * eight deep\n         */\n  a = 1\n/*\n * at zero\n    */\n  b = 2\n}\n',
    expected:
      'pipeline {\n  /*\n   * eight deep\n   */\n  a = 1\n  /*\n   * at zero\n      */\n  b = 2\n}\n',
  },
  {
    name: 'comments: a block comment never moves left of column 0',
    // The comment moves 6 columns left: 8 spaces become 2, 3 spaces and none become none.
    input:
      "pipeline {\n    stage {\n          /* a\nb\n        c\n   d */\n      steps { sh 'x' }\n    }\n}\n",
    expected: "pipeline {\n  stage {\n    /* a\nb\n  c\nd */\n    steps { sh 'x' }\n  }\n}\n",
  },
  {
    name: 'comments: an empty block holding only comments keeps them inside',
    input: 'pipeline {\n  steps { /* todo */ }\n  stage {\n    // nothing yet\n  }\n}\n',
    expected: 'pipeline {\n  steps { /* todo */\n  }\n  stage {\n    // nothing yet\n  }\n}\n',
  },
  {
    name: 'comments: inside a multi-line array, before and after elements',
    input:
      "pipeline {\n  credentials = [ // secrets\n    // deploy\n    'DEPLOY_KEY', /* npm */ 'NPM_TOKEN' // publish\n    // more later\n  ] // end\n}\n",
    expected:
      "pipeline {\n  credentials = [ // secrets\n    // deploy\n    'DEPLOY_KEY', /* npm */\n    'NPM_TOKEN', // publish\n    // more later\n  ] // end\n}\n",
  },
  {
    name: 'comments: inside a one-line array the array breaks to hold them',
    input: "pipeline {\n  a = ['x' /* first */, 'y']\n}\n",
    expected: "pipeline {\n  a = [\n    'x', /* first */\n    'y',\n  ]\n}\n",
  },
  {
    name: 'comments: inside a statement they are hoisted before it, in order',
    input:
      "pipeline {\n  stage /* s */ ( /* t */ 'X' ) /* u */ {\n    steps {\n      sh /* a */ 'x', /* b */ label: concat(/* c */ 'y')\n    }\n  }\n}\n",
    expected:
      "pipeline {\n  /* s */\n  /* t */\n  /* u */\n  stage('X') {\n    steps {\n      /* a */\n      /* b */\n      /* c */\n      sh 'x', label: concat('y')\n    }\n  }\n}\n",
  },
  {
    name: 'comments: in an array element call they go before the element',
    input: "pipeline {\n  a = [\n    concat(/* why */ 'x', 'y'),\n  ]\n}\n",
    expected: "pipeline {\n  a = [\n    /* why */\n    concat('x', 'y'),\n  ]\n}\n",
  },
  {
    name: 'comments: when hoisting would reorder them, all of a statement’s comments are hoisted',
    input: "pipeline {\n  steps {\n    sh [ // in\n      'a'], /* after */ 'b'\n  }\n}\n",
    expected:
      "pipeline {\n  steps {\n    // in\n    /* after */\n    sh [\n      'a',\n    ], 'b'\n  }\n}\n",
  },
  {
    name: 'comments: a multi-line trailing block comment keeps its shape',
    input: 'pipeline {\n    a = 1 /* one\n             two */\n    b = 2\n}\n',
    expected: 'pipeline {\n  a = 1 /* one\n           two */\n  b = 2\n}\n',
  },
  {
    name: 'comments only: a file of comments keeps them',
    input: '/* a */\n\n\n// b\n',
    expected: '/* a */\n\n// b\n',
  },
  {
    name: 'nested stages blocks flatten, their comments survive',
    input:
      "pipeline {\n  stages {\n    stages { // inner\n      stage { steps { sh 'x' } }\n    }\n  }\n}\n",
    expected:
      "pipeline {\n  stages {\n    // inner\n    stage {\n      steps { sh 'x' }\n    }\n  }\n}\n",
  },
];

for (const c of CASES) {
  void test(`case: ${c.name}`, () => {
    const out = checkProperties(c.input, c.name);
    assert.equal(out, c.expected);
  });
}

// ---------------------------------------------------------------- randomized layouts

const SINK = `// Kitchen sink: every construct the formatter prints.
use {
  stdlib
  './lib/steps' as local
}

configure {
  slack { channel = '#ci' token = vars.token }
}

environments {
  production {
    settings { HOSTNAME = "app.example" PORT = 8080 }
    credentials = ['DEPLOY_KEY', 'NPM_TOKEN']
  }
}

pipeline {
  from 'blueprints/rubygem' { rubyVersion = 'ruby:3.3' deploy = false }
  triggers {
    push { branches = ['main', 'release/*'] }
    cron = '0 3 * * *'
  }
  stages {
    stage('Build') {
      credentials = [
        'A',
        ['B', 'C'],
      ]
      runtime { docker { image = 'node:20' } }
      cache {
        gems = ['vendor/']
        use gems, assets
      }
      steps {
        sh 'make', label: 'build'
        git url: 'https://x', branch: 'main', into: '.'
        dir 'web' {
          sh """
            npm ci
              npm test
          """
          echo "built \${run.branch}"
        }
      }
    }
    parallel {
      failFast = true
      each('linux', 'macos') as os {
        stage {
          name = "Test \${os}"
          when {
            branch == 'main' || tag =~ 'v*'
            !(event == 'pr') && vars.deploy
          }
          steps { sh 'test' }
        }
      }
      each(changed('charts/*'), [1, 2.5, -3]) {
        stages { stage { steps { sh concat('helm ', it, ['x']) } } }
      }
    }
    stage('Deploy') {
      environment -> production
      gates {
        from 'Build'
        enter {
          branch == 'main'
          input 'Ship?', approvers: ['alice', 'bob'], timeout: '24h'
          webhook { description = 'Pingdom' timeout = '30m' }
        }
        exit { poll { url = 'https://x/health' expect = 200 } }
      }
      notify {
        success { slack 'Shipped' }
        complete { http url: 'https://x' }
      }
      steps { sh './deploy.sh' }
    }
  }
}
`;

const BLUEPRINT = `blueprint {
  vars {
    rubyVersion { description = 'Ruby image' default 'ruby' type string }
    deploy {
      default true
    }
  }
  stage { steps { sh 'x' } }
}

step {
  vars {}
  meta { author = 'me' }
}
`;

/** A small deterministic PRNG so a failure names a seed that reproduces it. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPENERS = new Set(['{', '[', '(', ',']);
const CLOSERS = new Set(['}', ']', ')']);
const STRUCTURAL = new Set(['{', '}', '[', ']', '(', ')', ',']);

function isPunct(t: Token, set: ReadonlySet<string>): boolean {
  return t.kind === 'punct' && set.has(t.text);
}

/**
 * The same tokens with new whitespace and new comments between them. A line
 * break stays wherever the source had one (steps, conditions and var
 * properties end at line breaks) and is added only after an opening bracket
 * or a comma or before a closing one, where the parser ignores it.
 */
function relayout(text: string, rand: () => number): string {
  const { tokens } = lex(new SourceFile('r', text), new DiagnosticBag());
  let n = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const indent = (): string => pick(['', '  ', '    ', '\t', '      ', ' \t ']);
  const ownLineComment = (): string =>
    pick([
      `// c${++n}`,
      `/* c${++n} */`,
      `/*\n${indent()} * c${++n}\n${indent()} */`,
      `// c${++n}   `,
    ]);
  const lineBreak = (): string => {
    let s = rand() < 0.25 ? ` ${pick([`// c${++n}`, `/* c${++n} */`])}` : '';
    s += rand() < 0.2 ? '\n\n' : '\n';
    while (rand() < 0.2) s += `${indent()}${ownLineComment()}\n${rand() < 0.2 ? '\n' : ''}`;
    return s + indent();
  };
  let out = rand() < 0.3 ? `${ownLineComment()}\n${rand() < 0.5 ? '\n' : ''}` : '';
  tokens.forEach((t, i) => {
    const prev = tokens[i - 1];
    if (t.kind === 'eof') return;
    if (prev !== undefined) {
      if (t.newlineBefore || ((isPunct(prev, OPENERS) || isPunct(t, CLOSERS)) && rand() < 0.2)) {
        out += lineBreak();
      } else {
        const glue = isPunct(prev, STRUCTURAL) || isPunct(t, STRUCTURAL);
        out += ' '.repeat(Math.floor(rand() * 3) + (glue ? 0 : 1));
        if (rand() < 0.08) out += `/* c${++n} */${rand() < 0.5 ? ' ' : ''}`;
      }
    }
    out += text.slice(t.start, t.end);
  });
  if (rand() < 0.4) out += ` // c${++n}`;
  return out + pick(['', '\n', '\n\n', `\n\n${ownLineComment()}\n`]);
}

const BASES: Array<[string, string]> = [
  ['sink', SINK],
  ['blueprint', BLUEPRINT],
  ['webapp.otto', readFileSync(join(compat, '2019', 'webapp.otto'), 'utf8')],
  ['matrix.otto', readFileSync(join(compat, '2019', 'matrix.otto'), 'utf8')],
  ['Ottofile', readFileSync(join(compat, '2020', 'Ottofile'), 'utf8')],
];

for (const [name, text] of BASES) {
  void test(`random layouts of ${name} keep comments and meaning, idempotently`, () => {
    const base = strip(parseOk(text, name).items);
    for (let seed = 1; seed <= 60; seed++) {
      const variant = relayout(text, mulberry32(seed * 7919 + name.length));
      const label = `${name} seed ${seed}`;
      // The generator itself must keep the meaning, or the check below proves nothing.
      assert.deepStrictEqual(
        strip(parseOk(variant, label).items),
        base,
        `${label}: generator changed the tree`,
      );
      checkProperties(variant, label);
    }
  });
}
