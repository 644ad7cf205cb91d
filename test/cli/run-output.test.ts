// `otto run` output and exit codes: a 30 MB flood arrives whole and in order, plain lines carry
// their stage path, --json is one object, and invalid pipelines and bad flags exit 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { fixturesDir, nodeBin, project } from './run-helpers.js';

const FLOOD_MB = 30;

test(
  'otto run: a step printing 30 MB reaches otto logs complete and in order',
  { timeout: 60_000 },
  async (t) => {
    const p = project(
      t,
      `pipeline {\n  stage('Flood') { steps { sh '${nodeBin} ${join(fixturesDir, 'flood.mjs')} ${FLOOD_MB}' } }\n}\n`,
    );
    const run = await p.start(['run'], { timeoutMs: 50_000 }).done;
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const expectedLines = Math.ceil((FLOOD_MB * 1024 * 1024) / 100);

    // The live view: every line of the flood, prefixed with the stage path, in order.
    const live = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('[Flood] ') && /^\[Flood\] \d{9} /.test(l));
    assert.equal(live.length, expectedLines, 'the live view lost or duplicated lines');
    assert.ok(run.stdout.includes(`[Flood] END ${expectedLines}\n`));

    const logs = await p.start(['logs', '--last', 'Flood'], { timeoutMs: 30_000 }).done;
    assert.equal(logs.code, 0, logs.stderr);
    // The agent's own first line ("stage Flood: workspace …") comes before the step's output.
    const start = logs.stdout.indexOf('000000000 ');
    assert.ok(start > 0, 'the flood is missing from otto logs');
    const flood = logs.stdout.slice(start);
    const payload = 'x'.repeat(89);
    assert.equal(
      Buffer.byteLength(flood),
      expectedLines * 100 + `END ${expectedLines}\n`.length,
      'byte count',
    );
    const all = flood.split('\n');
    assert.equal(all.pop(), '', 'the output ends with a newline');
    assert.equal(all.pop(), `END ${expectedLines}`, 'the last line');
    assert.equal(all.length, expectedLines);
    for (let i = 0; i < all.length; i++) {
      if (all[i] !== `${String(i).padStart(9, '0')} ${payload}`)
        assert.fail(
          `line ${i} is out of order or damaged: ${JSON.stringify(all[i]?.slice(0, 40))}`,
        );
    }
    const [r] = p.runs();
    assert.equal(r?.status, 'succeeded');
  },
);

test('otto run: non-terminal output lines are prefixed with [Stage path]', async (t) => {
  const p = project(
    t,
    `pipeline {
  stage('Build') { steps { sh 'echo one; echo two >&2' } }
  stage('Deploy') {
    steps { sh 'echo planning' }
    stage('EU') { steps { sh 'echo in-eu' } }
  }
}
`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split('\n').filter((l) => l !== '');
  for (const l of out)
    assert.match(l, /^\[(Build|Deploy|Deploy\/EU)\] /, `an unprefixed line: ${l}`);
  assert.ok(out.includes('[Build] one'));
  assert.ok(out.includes('[Build] two'), 'stderr of a step is shown with its stage too');
  assert.ok(out.includes('[Deploy] planning'));
  assert.ok(out.includes('[Deploy/EU] in-eu'), 'a nested stage shows its whole path');
  // The summary goes to stderr.
  assert.match(r.stderr, /run 1 succeeded/);
});

test('otto run --json: one JSON object with the run and its stages, and no log lines', async (t) => {
  const p = project(
    t,
    `pipeline {\n  stage('Build') { steps { sh 'echo built' } }\n  stage('Test') { steps { sh 'exit 3' } }\n}\n`,
  );
  const r = p.otto(['run', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const run = JSON.parse(r.stdout) as {
    id: string;
    status: string;
    stages: Array<{ path: string; status: string; exitCode: number | null; attempt: number }>;
  };
  assert.equal(run.id, '1');
  assert.equal(run.status, 'failed');
  assert.deepEqual(
    run.stages.map((s) => [s.path, s.status]),
    [
      ['Build', 'succeeded'],
      ['Test', 'failed'],
    ],
  );
  assert.equal(run.stages[1]?.exitCode, 3);
  assert.ok(!r.stdout.includes('built'), 'logs do not mix into the JSON');
});

test('otto run: an invalid pipeline exits 2 and is recorded as invalid with its diagnostics', async (t) => {
  const p = project(
    t,
    `pipeline {\n  stage('A') {\n    timout = '1h'\n    steps { sh 'touch ran' }\n  }\n}\n`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Ottofile:3:5: error\[E0301\]/);
  assert.match(r.stderr, /invalid pipeline; nothing ran/);
  const [run] = p.runs();
  assert.equal(run?.status, 'invalid');
  assert.deepEqual(run?.stages, []);
  const diagnostics = (await p.store().getDiagnostics(run.id)) as Array<{
    code: string;
    message: string;
  }>;
  assert.ok(
    Array.isArray(diagnostics) && diagnostics.some((d) => d.code === 'E0301'),
    JSON.stringify(diagnostics),
  );
  assert.ok(!existsSync(join(p.dir, 'ran')));

  const j = p.otto(['run', '--json']);
  assert.equal(j.code, 2);
  const parsed = JSON.parse(j.stdout) as { status: string; diagnostics: Array<{ code: string }> };
  assert.equal(parsed.status, 'invalid');
  assert.ok(parsed.diagnostics.some((d) => d.code === 'E0301'));
});

test('otto run: a bad flag exits 2 before anything runs', async (t) => {
  const p = project(t, `pipeline {\n  stage('A') { steps { sh 'touch ran' } }\n}\n`);
  for (const args of [
    ['run', '--jobs', '0'],
    ['run', '--jobs', 'many'],
    ['run', '--no-such-flag'],
  ]) {
    const r = p.otto(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, args[1] === '--jobs' ? /--jobs/ : /unknown option/);
  }
  assert.ok(!existsSync(join(p.dir, 'ran')));
  assert.ok(!existsSync(join(p.home, 'otto.db')), 'no run was recorded');
});

test("otto run and otto logs: a stage's last line without a newline stays a line of its own stage", async (t) => {
  const p = project(
    t,
    `pipeline {\n  stage('A') { steps { sh 'echo one; printf tail-of-a' } }\n  stage('B') { steps { sh 'echo b' } }\n}\n`,
  );
  const r = p.otto(['run']);
  assert.equal(r.code, 0, r.stderr);
  const live = r.stdout.split('\n');
  const tail = live.indexOf('[A] tail-of-a');
  assert.ok(tail >= 0, `the unterminated line is not shown as its own line:\n${r.stdout}`);
  const firstB = live.findIndex((l) => l.startsWith('[B]'));
  assert.ok(tail < firstB, `A's last line is shown after B started:\n${r.stdout}`);

  const logs = p.otto(['logs', '1']);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.split('\n').filter((l) => l !== '');
  for (const l of lines) assert.match(l, /^\[(A|B)\] /, `a line without its stage prefix: ${l}`);
  assert.ok(
    lines.includes('[A] tail-of-a'),
    `A's unterminated last line ran into B's output:\n${logs.stdout}`,
  );
  assert.ok(lines.includes('[B] b'));
});

test('otto logs piped into a reader that stops early (| head -1) exits quietly with status 0', async (t) => {
  const p = project(t, `pipeline {
  stage('Loud') { steps { sh 'seq 1 200000' } }
}
`);
  const r = p.otto(['run', '--quiet'], 60_000);
  assert.equal(r.code, 0, r.stderr);
  const child = spawn(ottoBin, ['logs', '--last'], { cwd: p.dir, env: { ...process.env, ...p.env, NO_COLOR: '1' } as NodeJS.ProcessEnv });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Read one chunk, then close the pipe as `head` does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '', 'no stack trace');
  assert.equal(code, 0);
});
