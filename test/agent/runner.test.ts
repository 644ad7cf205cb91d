// runJob end to end with real processes: outcomes, step events, logs, masking and the object-op seam.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runJob } from '../../src/agent/runner.js';
import type { ObjectOps, ObjectOpResult } from '../../src/agent/object-ops.js';
import type { Op } from '../../src/protocol/plan.js';
import { Events, isAlive, job, readPid, runproc, sleep, tempDir } from './helpers.js';

const never = new AbortController().signal;

test('a step flooding 50 MB: every byte arrives in order, seq is contiguous, job-finished comes last', async (t) => {
  const ws = await tempDir(t);
  const n = 6_700_000; // `seq 1 6700000` prints 52,488,896 bytes
  const ev = new Events();
  const secrets = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`S${i}`, `not-printed-secret-${i}`]),
  );
  await runJob(
    job(
      ws,
      [
        { op: 'SETVARS', vars: Object.keys(secrets).map((name) => ({ name, secret: true })) },
        runproc(0, `seq 1 ${n}`),
      ],
      {
        secrets,
      },
    ),
    ev.emit,
    never,
  );
  const finished = ev.finished();
  assert.equal(finished.outcome, 'succeeded', finished.message);
  assert.equal(ev.all.at(-1), finished);
  const chunks = ev.chunks();
  assert.deepEqual(
    chunks.map((c) => c.seq),
    chunks.map((_, i) => i + 1),
  );
  assert.equal(finished.lastSeq, chunks.length);
  assert.ok(chunks.every((c) => c.text.length <= 256 * 1024));
  const hash = createHash('sha256');
  let bytes = 0;
  for (const c of chunks) {
    if (c.step !== 0) continue;
    hash.update(c.text);
    bytes += c.text.length;
  }
  const expected = execFileSync('/bin/sh', ['-c', `seq 1 ${n} | sha256sum`], {
    encoding: 'utf8',
  }).split(' ')[0];
  assert.equal(bytes, 52_488_896);
  assert.equal(hash.digest('hex'), expected);
});

test('exit 3 fails the stage, later steps are skipped, ENDCTX still runs', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  await runJob(
    job(ws, [runproc(0, 'echo one'), runproc(1, 'exit 3'), runproc(2, `touch ${ws}/ran`)]),
    ev.emit,
    never,
  );
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.match(f.message, /step 'step 1' failed: exit status 3/);
  const steps = ev.steps();
  assert.deepEqual(
    steps.map((s) => [s.step, s.status, s.exitCode]),
    [
      [0, 'succeeded', 0],
      [1, 'failed', 3],
      [2, 'skipped', null],
    ],
  );
  await assert.rejects(readFile(join(ws, 'ran')));
  // Every step-finished comes after its step's logs, and step-started before them.
  const order = ev.all.map((e) =>
    e.type === 'logs' ? `logs:${e.chunks.map((c) => c.step).join(',')}` : e.type,
  );
  assert.ok(order.indexOf('step-started') < order.indexOf('logs:0'), order.join(' '));
});

test('the stage time limit: timed_out, and nothing the step started survives', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const script = `sleep 30 & echo $! > ${ws}/grandchild; echo $$ > ${ws}/leader; sleep 30`;
  await runJob(
    job(ws, [runproc(0, script), runproc(1, 'echo never')], { timeoutMs: 600 }),
    ev.emit,
    never,
  );
  const f = ev.finished();
  assert.equal(f.outcome, 'timed_out');
  assert.match(f.message, /timed out after 600ms/);
  assert.deepEqual(
    ev.steps().map((s) => [s.status, s.signal]),
    [
      ['timed_out', 'SIGTERM'],
      ['skipped', null],
    ],
  );
  assert.equal(isAlive(await readPid(join(ws, 'leader'))), false);
  assert.equal(isAlive(await readPid(join(ws, 'grandchild'))), false);
});

test("a step's own timeout fails the stage (the stage had time left)", async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  await runJob(job(ws, [runproc(0, 'sleep 30', { timeoutS: 0.3, label: 'slow' })]), ev.emit, never);
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.match(f.message, /step 'slow' timed out after 300ms/);
  assert.equal(ev.steps()[0]!.status, 'timed_out');
});

test('cancellation through the AbortSignal', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const controller = new AbortController();
  const running = runJob(
    job(ws, [
      runproc(0, `sleep 30 & echo $! > ${ws}/grandchild; sleep 30`),
      runproc(1, 'echo never'),
    ]),
    ev.emit,
    controller.signal,
  );
  await sleep(300);
  controller.abort('user pressed cancel');
  await running;
  const f = ev.finished();
  assert.equal(f.outcome, 'cancelled');
  assert.match(f.message, /user pressed cancel/);
  assert.deepEqual(
    ev.steps().map((s) => s.status),
    ['cancelled', 'skipped'],
  );
  assert.equal(isAlive(await readPid(join(ws, 'grandchild'))), false);
});

test('returnStatus records the exit status and the stage goes on', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  await runJob(
    job(ws, [runproc(0, 'exit 3', { returnStatus: true }), runproc(1, 'echo after')]),
    ev.emit,
    never,
  );
  assert.equal(ev.finished().outcome, 'succeeded');
  const [first, second] = ev.steps();
  assert.equal(first!.status, 'succeeded');
  assert.equal(first!.exitCode, 3);
  assert.match(first!.message, /exit status 3/);
  assert.equal(second!.status, 'succeeded');
  assert.equal(ev.logs(1, 'stdout'), 'after\n');
});

test('EMIT log prints a line for its step; EMIT fail fails the stage with its message', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const ops: Op[] = [
    { op: 'EMIT', step: 0, kind: 'log', message: 'hello from the pipeline' },
    { op: 'EMIT', step: 1, kind: 'fail', message: 'version 1.2 is not allowed here' },
    runproc(2, `touch ${ws}/ran`),
  ];
  await runJob(job(ws, ops), ev.emit, never);
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.equal(f.message, 'version 1.2 is not allowed here');
  assert.equal(ev.logs(0, 'stdout'), 'hello from the pipeline\n');
  assert.deepEqual(
    ev.steps().map((s) => [s.step, s.status]),
    [
      [0, 'succeeded'],
      [1, 'failed'],
      [2, 'skipped'],
    ],
  );
  await assert.rejects(readFile(join(ws, 'ran')));
});

test('a secret with no value fails the stage, naming it, before any step runs', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const ops: Op[] = [
    {
      op: 'SETVARS',
      vars: [
        { name: 'PLAIN', value: 'x', secret: false },
        { name: 'DEPLOY_TOKEN', secret: true },
      ],
    },
    runproc(0, `touch ${ws}/ran`),
  ];
  await runJob(job(ws, ops), ev.emit, never);
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.match(f.message, /secret DEPLOY_TOKEN has no value/);
  await assert.rejects(readFile(join(ws, 'ran')));
});

test('variables: the step sees baseEnv plus SETVARS and nothing else', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const ops: Op[] = [
    {
      op: 'SETVARS',
      vars: [
        { name: 'GREETING', value: 'hi there', secret: false },
        { name: 'TOKEN', secret: true },
      ],
    },
    runproc(0, 'env | sort'),
  ];
  await runJob(
    job(ws, ops, {
      secrets: { TOKEN: 'tok-123456' },
      baseEnv: { PATH: '/usr/bin:/bin', HOME: ws },
    }),
    ev.emit,
    never,
  );
  assert.equal(ev.finished().outcome, 'succeeded');
  const vars = ev
    .logs(0, 'stdout')
    .trim()
    .split('\n')
    .map((l) => l.split('=')[0])
    .filter((name) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(name!)); // the shell's own
  assert.deepEqual(vars, ['GREETING', 'HOME', 'PATH', 'TOKEN']);
  assert.match(ev.logs(0, 'stdout'), /TOKEN=\*\*\*/);
});

test('step output is masked in every form, including a secret split across two writes', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  const secret = 'sec-R3t/value+x y';
  const multi = 'first-line-of-key\nsecond-line-of-key';
  const script = [
    `printf '%s\\n' "$S"`,
    `printf '%s' "$S" | base64`,
    `printf 'basic %s\\n' "$(printf 'me:%s' "$S" | base64)"`,
    `printf 'url %s\\n' 'sec-R3t%2Fvalue%2Bx%20y'`,
    `printf 'form %s\\n' 'sec-R3t%2Fvalue%2Bx+y'`,
    `printf '{"s":"%s"}\\n' 'sec-R3t/value+x y'`,
    `printf 'sec-R3t'; sleep 0.2; printf '/value+x y\\n'`,
    `printf '%s\\n' "$M"`,
    `echo 'only: second-line-of-key'`,
    `echo 'near miss: sec-R3t/value+x z'`,
  ].join('\n');
  const ops: Op[] = [
    {
      op: 'SETVARS',
      vars: [
        { name: 'S', secret: true },
        { name: 'M', secret: true },
      ],
    },
    runproc(0, script),
  ];
  await runJob(job(ws, ops, { secrets: { S: secret, M: multi } }), ev.emit, never);
  assert.equal(ev.finished().outcome, 'succeeded');
  const out = ev.logs(0, 'stdout');
  const lines = out.split('\n');
  assert.deepEqual(lines.slice(0, 7), [
    '***',
    '***',
    lines[2],
    'url ***',
    'form ***',
    '{"s":"***"}',
    '***',
  ]);
  assert.match(lines[2]!, /^basic .{0,8}\*\*\*.{0,4}$/);
  assert.deepEqual(lines.slice(7), ['***', 'only: ***', 'near miss: sec-R3t/value+x z', '']);
  assert.ok(!out.includes('R3t/value+x y'));
});

test('mask values and secret values are masked in EMIT and system lines too', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  await runJob(
    job(ws, [{ op: 'EMIT', step: 0, kind: 'log', message: 'minted token-abcdef for you' }], {
      maskValues: ['token-abcdef'],
    }),
    ev.emit,
    never,
  );
  assert.equal(ev.logs(0), 'minted *** for you\n');
});

test('a cwd that escapes the workspace is refused; a cwd inside it is used', async (t) => {
  const ws = await tempDir(t);
  await mkdir(join(ws, 'sub'));
  const ok = new Events();
  await runJob(job(ws, [runproc(0, 'pwd', { cwd: 'sub' })]), ok.emit, never);
  assert.equal(ok.logs(0, 'stdout'), `${join(ws, 'sub')}\n`);
  const bad = new Events();
  await runJob(job(ws, [runproc(0, 'pwd', { cwd: '../..' })]), bad.emit, never);
  assert.equal(bad.finished().outcome, 'failed');
  assert.match(bad.finished().message, /outside the workspace/);
  assert.equal(bad.logs(0, 'stdout'), '');
});

test('a library step runs its entrypoint with the invocation file named in OTTO_INVOCATION', async (t) => {
  const ws = await tempDir(t);
  const lib = join(ws, 'lib');
  await mkdir(lib);
  await writeFile(join(lib, 'run.sh'), '#!/bin/sh\necho "args: $*"\ncat "$OTTO_INVOCATION"\n');
  await chmod(join(lib, 'run.sh'), 0o755);
  const ev = new Events();
  const step = runproc(0, '', {
    command: ['run.sh', 'a', 'b'],
    libraryDir: lib,
    invocation: { chart: 'web', replicas: 3 },
  });
  await runJob(job(ws, [step]), ev.emit, never);
  assert.equal(ev.finished().outcome, 'succeeded', ev.finished().message);
  assert.equal(ev.logs(0, 'stdout'), 'args: a b\n{"chart":"web","replicas":3}');
});

test('without ObjectOps an artifact op fails the stage with a clear message', async (t) => {
  const ws = await tempDir(t);
  const ev = new Events();
  await runJob(
    job(ws, [{ op: 'STORE', step: 90, artifact: 'dist', patterns: ['dist/**'], cwd: '' }]),
    ev.emit,
    never,
  );
  assert.equal(ev.finished().outcome, 'failed');
  assert.equal(ev.finished().message, 'artifacts and caches are not available on this agent');
});

test("after a failed step only cache saves with when: 'always' and ENDCTX run", async (t) => {
  const ws = await tempDir(t);
  const calls: string[] = [];
  const result = (log: string): ObjectOpResult => ({ ok: true, message: '', log: [log] });
  const objects: ObjectOps = {
    store: async (op) => (calls.push(`store ${op.artifact}`), result('stored')),
    fetch: async (op) => (calls.push(`fetch ${op.artifact}`), result('fetched')),
    cacheRestore: async (op) => (
      calls.push(`restore ${op.name}`),
      result(`cache ${op.name}: miss`)
    ),
    cacheSave: async (op) => {
      calls.push(`save ${op.name}`);
      return {
        ok: true,
        message: '',
        log: [`cache ${op.name}: saved`],
        artifact: { name: op.name, digest: 'sha256:00', size: 1, files: 1 },
      };
    },
  };
  const ops: Op[] = [
    { op: 'CACHE_RESTORE', name: 'deps', keyFiles: [] },
    runproc(0, 'exit 1'),
    { op: 'STORE', step: 90, artifact: 'dist', patterns: ['*'], cwd: '' },
    { op: 'CACHE_SAVE', name: 'deps', paths: ['x'], keyFiles: [], when: 'success' },
    { op: 'CACHE_SAVE', name: 'logs', paths: ['y'], keyFiles: [], when: 'always' },
  ];
  const ev = new Events();
  await runJob(job(ws, ops), ev.emit, never, objects);
  assert.deepEqual(calls, ['restore deps', 'save logs']);
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.deepEqual(
    f.artifacts.map((a) => a.name),
    ['logs'],
  );
  assert.match(ev.logs(null, 'system'), /cache deps: miss\n[^]*cache logs: saved\n/);
});

test('an op that throws fails the stage; later steps are reported as skipped', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file'), '');
  const ev = new Events();
  await runJob(job(join(dir, 'file', 'ws'), [runproc(0, 'echo never')]), ev.emit, never);
  const f = ev.finished();
  assert.equal(f.outcome, 'failed');
  assert.match(f.message, /^BEGINCTX failed: ENOTDIR/);
  assert.deepEqual(
    ev.steps().map((s) => s.status),
    ['skipped'],
  );
});
