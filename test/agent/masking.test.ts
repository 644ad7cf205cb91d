// The streaming masker: every encoded form, chunk boundaries, multi-line and short secrets, near misses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Masker, MIN_SECRET_LENGTH, secretForms } from '../../src/agent/masking.js';

/** Streams `text` through a fresh mask stream in the given piece sizes (cycled). */
function streamMask(
  masker: Masker,
  text: string | Buffer,
  sizes: readonly number[] = [1 << 16],
): string {
  const input = typeof text === 'string' ? Buffer.from(text) : text;
  const s = masker.stream();
  const out: Buffer[] = [];
  for (let at = 0, k = 0; at < input.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(s.write(input.subarray(at, at + n)));
    at += n;
  }
  out.push(s.flush());
  return Buffer.concat(out).toString();
}

const SECRET = 'hunter2-Sup3r/Secret+Value';

test('the plain value is masked and nothing else is touched', () => {
  const m = new Masker([SECRET]);
  assert.equal(m.maskText(`login with ${SECRET} now`), 'login with *** now');
  assert.equal(m.maskText('nothing secret here'), 'nothing secret here');
});

test('a near miss is left alone', () => {
  const m = new Masker(['abcd1234']);
  assert.equal(m.maskText('abcd1235 abcd123 bcd1234 abcd1234'), 'abcd1235 abcd123 bcd1234 ***');
});

test('base64: the whole value, base64url, and the value at each alignment inside a longer blob', () => {
  const m = new Masker([SECRET]);
  const b64 = Buffer.from(SECRET).toString('base64');
  assert.equal(m.maskText(`auth: ${b64}`), 'auth: ***');
  const url = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  assert.equal(m.maskText(`jwt ${url}`), 'jwt ***');
  for (const prefix of ['user:', 'user1:', 'user12:']) {
    // e.g. a Basic auth header: base64("user:" + secret); the secret's bytes start at any alignment.
    const blob = Buffer.from(`${prefix}${SECRET}`).toString('base64');
    const masked = m.maskText(`Authorization: Basic ${blob}`);
    assert.match(masked, /\*\*\*/, `alignment ${prefix.length % 3}: ${masked}`);
    // What is left of the blob is at most the prefix's part plus a boundary character on each side.
    const left = masked.replace('Authorization: Basic ', '').replace('***', '');
    assert.ok(left.length <= Math.ceil((prefix.length * 4) / 3) + 4, `too much left: ${masked}`);
  }
});

test('URL-encoded forms: encodeURIComponent, + for spaces, and WHATWG form encoding', () => {
  const value = "p@ss word/with:odd&chars!'()";
  const m = new Masker([value]);
  assert.equal(m.maskText(`?pw=${encodeURIComponent(value)}&x=1`), '?pw=***&x=1');
  assert.equal(m.maskText(`pw=${encodeURIComponent(value).replace(/%20/g, '+')}`), 'pw=***');
  assert.equal(m.maskText(`body ${new URLSearchParams({ pw: value }).toString()}`), 'body pw=***');
});

test('JSON-escaped forms, including \\u escapes of non-ASCII', () => {
  const value = 'quote"back\\slash\ttab-é';
  const m = new Masker([value]);
  assert.equal(m.maskText(JSON.stringify({ password: value })), '{"password":"***"}');
  assert.equal(
    m.maskText('{"password":"quote\\"back\\\\slash\\ttab-\\u00e9"}'),
    '{"password":"***"}',
  );
});

test('multi-line secrets: the whole value and each line long enough to mask on its own', () => {
  const key =
    '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n}\n-----END KEY-----';
  const m = new Masker([key]);
  assert.equal(m.maskText(`key:\n${key}\nafter`), 'key:\n***\nafter');
  assert.equal(m.maskText('line: MIIEvQIBADANBgkqhkiG9w0B'), 'line: ***');
  assert.equal(m.maskText('CRLF:\r\nMIIEvQIBADANBgkqhkiG9w0B\r\n'), 'CRLF:\r\n***\r\n');
  // The one-character line is ordinary text on its own.
  assert.equal(m.maskText('function f() {}'), 'function f() {}');
  assert.equal(m.maskText(JSON.stringify(key)), '"***"');
});

test(`secrets shorter than ${MIN_SECRET_LENGTH} characters are not masked`, () => {
  assert.deepEqual(secretForms('abc'), []);
  const m = new Masker(['abc', 'x', '']);
  assert.equal(m.patternCount, 0);
  assert.equal(m.maskText('abc abd x'), 'abc abd x');
});

test('a secret split across two writes is masked', () => {
  const m = new Masker([SECRET]);
  for (let cut = 1; cut < SECRET.length; cut++) {
    const s = m.stream();
    const a = s.write(Buffer.from(`start ${SECRET.slice(0, cut)}`));
    const b = s.write(Buffer.from(`${SECRET.slice(cut)} end\n`));
    const out = Buffer.concat([a, b, s.flush()]).toString();
    assert.equal(out, 'start *** end\n', `cut at ${cut}`);
    assert.ok(
      !a.toString().includes(SECRET.slice(0, Math.max(cut, 2))),
      'the first half was released early',
    );
  }
});

test('only a tail that can still become a secret is held back', () => {
  const m = new Masker([SECRET]);
  const s = m.stream();
  assert.equal(s.write(Buffer.from('plain output\n')).toString(), 'plain output\n');
  assert.equal(s.write(Buffer.from('almost hun')).toString(), 'almost ');
  assert.equal(s.write(Buffer.from('gry')).toString(), 'hungry');
  assert.equal(s.write(Buffer.from(' hunter')).toString(), ' ');
  assert.equal(s.flush().toString(), 'hunter');
});

test('a multi-byte character split across writes survives, and secrets with one are masked', () => {
  const value = 'pässwörd-ünïcode';
  const m = new Masker([value]);
  const text = `a ${value} b — ü`;
  for (const size of [1, 2, 3, 5]) assert.equal(streamMask(m, text, [size]), 'a *** b — ü');
});

test('overlapping occurrences of two secrets leave nothing of either', () => {
  const m = new Masker(['abcdef12', 'ef12ghij']);
  assert.equal(m.maskText('x abcdef12ghij y'), 'x *** y');
  assert.equal(streamMask(m, 'x abcdef12ghij y', [5]), 'x *** y');
});

test('a longer secret that starts with a shorter one wins', () => {
  const m = new Masker(['token', 'token-extended']);
  assert.equal(streamMask(m, 'a token-extended b token c', [8]), 'a *** b *** c');
  assert.equal(streamMask(m, 'a token-ext', [7]), 'a ***-ext');
});

/** The reference: every occurrence of every form in the whole text, merged, replaced once. */
function naiveMask(values: readonly string[], text: string): string {
  const buf = Buffer.from(text);
  const forms = [...new Set(values.flatMap(secretForms))].map((f) => Buffer.from(f));
  const covered = new Uint8Array(buf.length);
  for (const f of forms) {
    for (let at = buf.indexOf(f); at >= 0; at = buf.indexOf(f, at + 1))
      covered.fill(1, at, at + f.length);
  }
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    let j = i;
    while (j < buf.length && covered[j] === covered[i]) j++;
    out.push(covered[i] ? Buffer.from('***') : buf.subarray(i, j));
    i = j;
  }
  return Buffer.concat(out).toString();
}

test('streaming equals one-shot reference masking for random text, secrets and chunkings', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    const values = Array.from({ length: 1 + rand(5) }, (_, i) =>
      createHash('sha1')
        .update(`${round}-${i}`)
        .digest('base64')
        .slice(0, 4 + rand(20)),
    );
    const pieces: string[] = [];
    for (let k = 0; k < 60; k++) {
      const v = values[rand(values.length)]!;
      const forms = secretForms(v);
      const r = rand(6);
      pieces.push(
        r === 0
          ? forms[rand(forms.length)]!
          : r === 1
            ? v.slice(0, 1 + rand(v.length - 1))
            : 'lorem ipsum\n'.slice(rand(8)),
      );
      if (rand(4) === 0) pieces.push(Buffer.from(`xy${v}z`).toString('base64'));
    }
    const text = pieces.join('');
    const m = new Masker(values);
    const expected = naiveMask(values, text);
    assert.equal(m.maskText(text), expected, `round ${round} one-shot`);
    const sizes = [1 + rand(7), 1 + rand(40), 1 + rand(300)];
    assert.equal(streamMask(m, text, sizes), expected, `round ${round} sizes ${sizes.join(',')}`);
  }
});

test('large input: both scan lanes and their seam find every occurrence', () => {
  const m = new Masker([SECRET]);
  const filler = 'log line with nothing to hide\n'.repeat(300);
  const text = Array.from({ length: 20 }, (_, i) => `${filler.slice(i * 37)}${SECRET}`).join('');
  const masked = streamMask(m, text, [65536, 4097, 10000]);
  assert.equal(masked, text.split(SECRET).join('***'));
  // A second half dense with near misses is scanned slowly, so its lane finishes after the first.
  const slow = `${'zzzzzzzz'.repeat(800)}${'hunter2-'.repeat(800)}${SECRET}`;
  assert.equal(m.maskText(slow), slow.replace(SECRET, '***'));
  const fast = `${'hunter2-'.repeat(800)}${SECRET}${'zzzzzzzz'.repeat(800)}${SECRET}`;
  assert.equal(m.maskText(fast), fast.split(SECRET).join('***'));
});
