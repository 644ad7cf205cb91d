// Secrets in `otto run`'s live output and in `otto logs`: the value and every encoded form a step
// may print (base64 alone and inside a longer blob, URL-encoded, JSON-escaped, each line of a
// multi-line secret, a value split across writes) come out as ***, for a secret from the encrypted
// store and one passed with --secret; a near-miss string is left alone.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { nodeBin, project, type Finished, type Project } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

const STORED = 'pa55 "w0rd" \\ key/with+sym=bols&more';
const FROM_ENV = 'ghp_T0k3nW1th/slash+plus=Zq';
const MULTI =
  '-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9Qx\nab\nZmFrZS1rZXktbWF0ZXJpYWwtZm9yLXRlc3Rz\n-----END TEST KEY-----';
/** Differs from FROM_ENV in its last character: not a secret, so it must come out as it is. */
const NEAR_MISS = 'ghp_T0k3nW1th/slash+plus=Zr';
const SECRETS = { STORED, FROM_ENV, MULTI } as const;
type Name = keyof typeof SECRETS;
const PREFIXES = ['', 'a', 'ab', 'abc'];
const TRAILER = '-trailing-bytes';

const hasPython =
  spawnSync('python3', ['-c', 'import urllib.parse'], { stdio: 'ignore' }).status === 0;

/**
 * Prints the forms of the secret in the variable named $1, one labelled line each. printf, not echo:
 * dash's echo rewrites backslashes, so it would print something other than the encoded form.
 */
const FORMS_SH = `n=$1
v=$(printenv "$n")
say() { printf '%s %s\\n' "$n" "$1"; }
say "sha=[$(printf %s "$v" | sha256sum | cut -c1-64)]"
say "plain=[$v]"
say "base64=[$(printf %s "$v" | base64 -w0)]"
for p in ${PREFIXES.map((p) => `'${p}'`).join(' ')}; do
  say "blob\${#p}=[$(printf '%s%s%s' "$p" "$v" '${TRAILER}' | base64 -w0)]"
done
say "uri=[$(${nodeBin} -e 'process.stdout.write(encodeURIComponent(process.env[process.argv[1]]))' "$n")]"
${hasPython ? `say "pyquote=[$(python3 -c 'import urllib.parse,os,sys;print(urllib.parse.quote(os.environ[sys.argv[1]]))' "$n")]"` : ''}
say "json=$(${nodeBin} -e 'console.log(JSON.stringify(process.env[process.argv[1]]))' "$n")"
printf '%s split=[' "$n"; printf %s "$v" | head -c 5; sleep 0.3; printf %s "$v" | tail -c +6; printf ']\\n'
printf '%s\\n' "$v" | while IFS= read -r l; do say "line=[$l]"; done
say "wrapped-base64:"
printf %s "$v" | base64
`;

const quoted = new Map<string, string>();
function pythonQuote(value: string): string {
  const known = quoted.get(value);
  if (known !== undefined) return known;
  const r = spawnSync(
    'python3',
    ['-c', 'import urllib.parse,os,sys;sys.stdout.write(urllib.parse.quote(os.environ["S"]))'],
    { env: { ...process.env, S: value }, encoding: 'utf8' },
  );
  quoted.set(value, r.stdout);
  return r.stdout;
}

/** The characters of base64(prefix + value + trailer) that depend only on the value's bytes. */
function blobCore(prefix: string, value: string): string {
  const blob = Buffer.from(prefix + value + TRAILER).toString('base64');
  const k = Buffer.byteLength(prefix);
  const n = Buffer.byteLength(value);
  return blob.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + n)) / 6));
}

const sha256 = (s: string): string =>
  spawnSync('sha256sum', { input: s, encoding: 'utf8' }).stdout.slice(0, 64);

/** Lines of `text` that contain `needle`, for a readable failure. */
function linesWith(text: string, needle: string): string[] {
  return text.split('\n').filter((l) => l.includes(needle));
}

function assertAbsent(text: string, form: string, what: string): void {
  assert.ok(form.length >= 4, `${what}: the form is long enough to be masked`);
  const hits = linesWith(text, form);
  assert.deepEqual(hits, [], `${what} (${JSON.stringify(form)}) leaked`);
}

/** Runs otto with input on stdin, without blocking the event loop. */
function ottoWithInput(p: Project, args: readonly string[], input: string): Promise<Finished> {
  const child = spawn(ottoBin, [...args], {
    cwd: p.dir,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...p.env } as NodeJS.ProcessEnv,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.end(input);
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    ),
  );
}

describe('secrets are masked in every form, live and in otto logs', () => {
  const p = project({ after }, '');
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  p.env.FROM_ENV = FROM_ENV;
  const forms = join(p.scratch, 'forms.sh');
  const near = join(p.scratch, 'near.txt');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Show') {
    credentials = ['STORED', 'FROM_ENV', 'MULTI']
    steps {
      sh 'sh ${forms} STORED'
      sh 'sh ${forms} FROM_ENV'
      sh 'sh ${forms} MULTI'
      sh 'echo "near=[$(cat ${near})]"'
    }
  }
}
`,
  );
  let live = '';
  let logs = '';
  let run: Finished;

  before(async () => {
    writeFileSync(forms, FORMS_SH);
    writeFileSync(near, NEAR_MISS);
    for (const [name, value] of [
      ['STORED', STORED],
      ['MULTI', MULTI],
    ] as const) {
      const r = await ottoWithInput(p, ['secrets', 'set', name], value);
      assert.equal(r.code, 0, r.stderr);
    }
    run = await p.start(['run', '--secret', 'FROM_ENV'], SLOW).done;
    live = run.stdout + run.stderr;
    const id = /run (\d+)/.exec(run.stderr)?.[1];
    assert.ok(id, run.stderr);
    const l = await p.start(['logs', id]).done;
    assert.equal(l.code, 0, l.stderr);
    logs = l.stdout + l.stderr;
  });

  it('the run succeeds and the step received each secret (checked by its hash)', () => {
    assert.equal(run.code, 0, live);
    for (const [name, value] of Object.entries(SECRETS))
      assert.match(
        live,
        new RegExp(`${name} sha=\\[${sha256(value)}\\]`),
        `${name} reached the step`,
      );
  });

  for (const [where, text] of [
    ['live output', () => live],
    ['otto logs', () => logs],
  ] as const) {
    describe(where, () => {
      for (const name of Object.keys(SECRETS) as Name[]) {
        const value = SECRETS[name];
        it(`${name}: the value itself, and printed split across two writes`, () => {
          assertAbsent(text(), value, `${name} in ${where}`);
          if (!value.includes('\n')) {
            assert.match(text(), new RegExp(`${name} plain=\\[\\*\\*\\*\\]`));
            // (otto logs repeats the stage prefix inside a line written in two parts: tested below.)
            assert.match(text(), new RegExp(`${name} split=\\[(?:\\[Show\\] )?\\*\\*\\*\\]`));
          }
        });
        it(`${name}: base64 (printf %s "$S" | base64 -w0)`, () => {
          assertAbsent(text(), Buffer.from(value).toString('base64'), `base64 of ${name}`);
          assert.match(text(), new RegExp(`${name} base64=\\[\\*\\*\\*\\]`));
        });
        it(`${name}: base64 inside a longer blob, at each byte alignment`, () => {
          for (const prefix of PREFIXES) {
            assertAbsent(
              text(),
              blobCore(prefix, value),
              `${name} inside base64 after ${prefix.length} bytes`,
            );
            assert.match(
              text(),
              new RegExp(`${name} blob${prefix.length}=\\[[^\\]\\n]*\\*\\*\\*`),
              `blob${prefix.length} line masked`,
            );
          }
        });
        it(`${name}: URL-encoded (encodeURIComponent)`, () => {
          assertAbsent(text(), encodeURIComponent(value), `URL-encoded ${name}`);
          assert.match(text(), new RegExp(`${name} uri=\\[\\*\\*\\*\\]`));
        });
        it(
          `${name}: URL-encoded by Python's urllib.parse.quote (keeps '/')`,
          { skip: hasPython ? false : 'python3 is not installed' },
          () => {
            assertAbsent(text(), pythonQuote(value), `urllib.parse.quote(${name})`);
            assert.match(text(), new RegExp(`${name} pyquote=\\[\\*\\*\\*\\]`));
          },
        );
        it(`${name}: JSON-escaped (JSON.stringify)`, () => {
          assertAbsent(text(), JSON.stringify(value).slice(1, -1), `JSON-escaped ${name}`);
          assert.match(text(), new RegExp(`${name} json="\\*\\*\\*"`));
        });
      }

      it('MULTI: each line of 4 or more characters, on its own', () => {
        for (const line of MULTI.split('\n').filter((l) => l.length >= 4)) {
          assertAbsent(text(), line, `a line of MULTI`);
        }
        // A line shorter than 4 characters is ordinary text on its own (documented in masking.ts).
        assert.match(text(), /MULTI line=\[ab\]/);
        assert.equal((text().match(/MULTI line=\[\*\*\*\]/g) ?? []).length, 4);
      });

      it('MULTI: base64 as coreutils prints it by default, wrapped at 76 columns', () => {
        const wrapped =
          Buffer.from(MULTI)
            .toString('base64')
            .match(/.{1,76}/g) ?? [];
        assert.ok(wrapped.length > 1, 'the secret is long enough to wrap');
        for (const line of wrapped) assertAbsent(text(), line, 'a line of wrapped base64 of MULTI');
      });

      it('a near-miss string is not masked', () => {
        assert.ok(
          text().includes(`near=[${NEAR_MISS}]`),
          `near-miss printed as it is:\n${linesWith(text(), 'near=').join('\n')}`,
        );
      });
    });
  }

  it('otto logs shows a line a step wrote in two parts as one line, with one stage prefix', () => {
    // The live view gets this right; otto logs prefixes every stored chunk as if it began a line.
    assert.match(live, /\[Show\] FROM_ENV split=\[\*\*\*\]\n/);
    assert.match(logs, /\[Show\] FROM_ENV split=\[\*\*\*\]\n/);
  });
});
