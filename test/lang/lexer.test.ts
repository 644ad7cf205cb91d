// The lexer: strings, escapes, interpolation, comments, identifiers and lexical errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticBag } from '../../src/lang/diagnostics.js';
import { lex } from '../../src/lang/lexer.js';
import { SourceFile } from '../../src/lang/source.js';
import type { Token } from '../../src/lang/tokens.js';

function tokens(text: string): { tokens: Token[]; bag: DiagnosticBag; comments: ReturnType<typeof lex>['comments'] } {
  const bag = new DiagnosticBag();
  const r = lex(new SourceFile('t.otto', text), bag);
  return { tokens: r.tokens, comments: r.comments, bag };
}

function stringValue(t: Token): string {
  return (t.parts ?? []).map((p) => (p.kind === 'text' ? p.text : '${…}')).join('');
}

test('identifiers may hold digits and dashes after the first character', () => {
  const { tokens: t } = tokens('pre-prod jdk17 _x a-b-c');
  assert.deepEqual(t.filter((x) => x.kind === 'ident').map((x) => x.text), ['pre-prod', 'jdk17', '_x', 'a-b-c']);
});

test("'->' after an identifier is the arrow, even without spaces", () => {
  const { tokens: t } = tokens('environment->prod');
  assert.deepEqual(t.map((x) => x.text), ['environment', '->', 'prod', '']);
});

test('single-quoted strings keep backslashes except \\\\ and \\\'', () => {
  const { tokens: t, bag } = tokens(String.raw`'echo $HOME \n it\'s \\'`);
  assert.equal(bag.items.length, 0);
  assert.equal(stringValue(t[0] as Token), String.raw`echo $HOME \n it's \\`.replace('\\\\', '\\'));
});

test('double-quoted strings know escapes and unicode', () => {
  const { tokens: t, bag } = tokens(String.raw`"a\tb\n\"q\" \u{1F680} \$x"`);
  assert.equal(bag.items.length, 0);
  assert.equal(stringValue(t[0] as Token), 'a\tb\n"q" 🚀 $x');
});

test('an unknown escape is an error that names it', () => {
  const { bag } = tokens(String.raw`"C:\dir"`);
  assert.equal(bag.items[0]?.code, 'E0103');
  assert.match(bag.items[0]?.message ?? '', /unknown escape '\\d'/);
});

test('interpolation splits a double-quoted string into parts', () => {
  const { tokens: t, bag } = tokens('"Test ${os} on ${concat(\'a\', it)}!"');
  assert.equal(bag.items.length, 0);
  const parts = t[0]?.parts ?? [];
  assert.deepEqual(parts.map((p) => p.kind), ['text', 'interp', 'text', 'interp', 'text']);
  const interp = parts[3];
  assert.ok(interp && interp.kind === 'interp');
  assert.deepEqual(interp.tokens.map((x) => x.text), ['concat', '(', "'a'", ',', 'it', ')']);
});

test('single quotes do not interpolate', () => {
  const { tokens: t } = tokens("'${HOME}'");
  assert.equal(stringValue(t[0] as Token), '${HOME}');
});

test('triple-quoted strings strip the common indentation and blank first and last lines', () => {
  const text = "x = '''\n    line one\n      indented\n    line three\n    '''";
  const { tokens: t, bag } = tokens(text);
  assert.equal(bag.items.length, 0);
  assert.equal(stringValue(t[2] as Token), 'line one\n  indented\nline three');
});

test('triple double quotes interpolate and keep inner quotes', () => {
  const { tokens: t } = tokens('"""\n  say "hi" to ${it}\n  """');
  assert.equal(stringValue(t[0] as Token), 'say "hi" to ${…}');
});

test('an unterminated string reports once and lexing goes on at the next line', () => {
  const { tokens: t, bag } = tokens("sh 'make\nsh 'ok'");
  assert.deepEqual(bag.items.map((d) => d.code), ['E0101']);
  assert.equal(stringValue(t[3] as Token), 'ok');
});

test('block comments do not nest: the first */ closes', () => {
  const { comments, tokens: t } = tokens('/* a /* b */ x */');
  assert.equal(comments.length, 1);
  assert.equal(comments[0]?.text, '/* a /* b */');
  assert.deepEqual(t.map((x) => x.text).slice(0, 1), ['x']);
});

test('an unclosed block comment is an error', () => {
  const { bag } = tokens('pipeline { } /* never');
  assert.equal(bag.items[0]?.code, 'E0102');
});

test('line comments are kept with their text; newlines are recorded', () => {
  const { comments, tokens: t } = tokens('a // note\nb');
  assert.equal(comments[0]?.text, '// note');
  assert.equal(t[1]?.newlineBefore, true);
});

test('# reports once and skips its line', () => {
  const { bag, tokens: t } = tokens('# a comment in the wrong style\npipeline {}');
  assert.deepEqual(bag.items.map((d) => d.code), ['E0104']);
  assert.equal(t[0]?.text, 'pipeline');
});

test('10m is an invalid number with a hint to quote it', () => {
  const { bag } = tokens('timeout = 10m');
  assert.equal(bag.items[0]?.code, 'E0106');
  assert.equal(bag.items[0]?.help, "durations are strings: write '10m'");
});

test('numbers: integers, fractions, negatives', () => {
  const { tokens: t } = tokens('3 0.5 -2');
  assert.deepEqual(t.filter((x) => x.kind === 'number').map((x) => x.text), ['3', '0.5', '-2']);
});

test('a byte-order mark is ignored and CRLF line ends work', () => {
  const { tokens: t, bag } = tokens('\uFEFFpipeline {\r\n}\r\n');
  assert.equal(bag.items.length, 0);
  assert.deepEqual(t.map((x) => x.text), ['pipeline', '{', '}', '']);
});
