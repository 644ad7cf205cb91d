// Step processes: exit status, env, output, timeouts, cancellation and the no-orphan guarantee, with
// each spawner: the native helper (dist/native/otto-spawn, built here when missing or stale) and Node's.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runProcess, type ProcessSpec, type Spawner } from '../../src/agent/process.js';
import { helperPid } from '../../src/agent/spawner.js';
import { buildSpawnHelper, isAlive, PATH_ENV, readPid, sleep, stepSpec, tempDir } from './helpers.js';


for (const spawner of ['native', 'node'] as const) {
  describe(`spawner: ${spawner}`, () => {
    before(buildSpawnHelper);
    cases(spawner);
  });
}

function cases(spawner: Spawner): void {
  function spec(
    cwd: string,
    script: string,
    extra: Partial<ProcessSpec> = {},
  ): ProcessSpec & { out: () => string } {
    let out = '';
    return {
      ...stepSpec(spawner, cwd, script),
      onOutput: (_stream, data) => {
        out += data.toString();
      },
      out: () => out,
      ...extra,
    };
  }

  test('exit 3 is recorded as exit 3', async (t) => {
    const dir = await tempDir(t);
    const r = await runProcess(spec(dir, 'echo hi; exit 3'));
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.timedOut, false);
    assert.equal(r.cancelled, false);
    assert.equal(r.error, null);
  });

  test('sh -e stops at the first failing command', async (t) => {
    const dir = await tempDir(t);
    const s = spec(dir, 'false; echo unreachable');
    const r = await runProcess(s);
    assert.equal(r.exitCode, 1);
    assert.equal(s.out(), '');
  });

  test('the environment is exactly the one given, and cwd is honoured', async (t) => {
    const dir = await tempDir(t);
    process.env.OTTO_TEST_LEAK = 'leaked';
    t.after(() => delete process.env.OTTO_TEST_LEAK);
    const s = spec(dir, 'echo "[$OTTO_TEST_LEAK][$ONLY]"; pwd', {
      env: { ...PATH_ENV, ONLY: 'yes' },
    });
    const r = await runProcess(s);
    assert.equal(r.exitCode, 0);
    assert.equal(s.out(), `[][yes]\n${dir}\n`);
  });

  test('stdout and stderr both arrive, each in order', async (t) => {
    const dir = await tempDir(t);
    const parts = { stdout: '', stderr: '' };
    const r = await runProcess({
      ...spec(dir, 'for i in 1 2 3; do echo out$i; echo err$i >&2; done'),
      onOutput: (stream, data) => {
        parts[stream] += data.toString();
      },
    });
    assert.equal(r.exitCode, 0);
    assert.equal(parts.stdout, 'out1\nout2\nout3\n');
    assert.equal(parts.stderr, 'err1\nerr2\nerr3\n');
  });

  test('a missing program is reported, not thrown', async (t) => {
    const dir = await tempDir(t);
    const program = join(dir, 'no-such-program');
    const r = await runProcess({ ...spec(dir, ''), argv: [program] });
    assert.equal(r.exitCode, null);
    assert.equal(r.error, `spawn ${program} ENOENT: no such file or directory`);
  });

  test('a missing working directory is reported as such', async (t) => {
    const dir = join(await tempDir(t), 'gone');
    const r = await runProcess(spec(dir, 'true'));
    assert.equal(r.exitCode, null);
    assert.equal(
      r.error,
      `spawn /bin/sh ENOENT: the working directory ${dir}: no such file or directory`,
    );
  });

  test(`the step really runs under the ${spawner} spawner`, async (t) => {
    const dir = await tempDir(t);
    const s = spec(dir, 'echo $PPID');
    assert.equal((await runProcess(s)).exitCode, 0);
    // The helper's child, or the test process's own: a silent fallback to Node fails here.
    assert.equal(s.out(), `${spawner === 'native' ? helperPid() : process.pid}\n`);
  });

  test('a timeout stops the whole group: the shell and its backgrounded grandchild', async (t) => {
    const dir = await tempDir(t);
    const script = `sleep 30 & echo $! > ${dir}/grandchild; echo $$ > ${dir}/leader; sleep 30`;
    const r = await runProcess(spec(dir, script, { timeoutMs: 400 }));
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(r.durationMs < 5000, `took ${r.durationMs} ms`);
    assert.equal(isAlive(await readPid(join(dir, 'leader'))), false);
    assert.equal(isAlive(await readPid(join(dir, 'grandchild'))), false);
  });

  test('a step ignoring SIGTERM is killed with SIGKILL after the grace period', async (t) => {
    const dir = await tempDir(t);
    const started = Date.now();
    const r = await runProcess(
      spec(dir, `trap '' TERM; echo $$ > ${dir}/leader; sleep 30`, {
        timeoutMs: 300,
        graceMs: 500,
      }),
    );
    const took = Date.now() - started;
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(took >= 750 && took < 5000, `took ${took} ms`);
    assert.equal(isAlive(await readPid(join(dir, 'leader'))), false);
  });

  test('no orphan survives a step that exits normally', async (t) => {
    const dir = await tempDir(t);
    const s = spec(dir, `sleep 1000 & echo $! > ${dir}/orphan; echo done`);
    const r = await runProcess(s);
    assert.equal(r.exitCode, 0);
    assert.equal(s.out(), 'done\n');
    assert.ok(r.durationMs < 3000, `took ${r.durationMs} ms`);
    assert.equal(isAlive(await readPid(join(dir, 'orphan'))), false);
  });

  test('a process that left the group and holds the pipes does not hang the step', async (t) => {
    const dir = await tempDir(t);
    // setsid puts the sleeper in a new session, out of reach of the group kill; it keeps stdout open.
    const s = spec(dir, `setsid sleep 5 & echo $! > ${dir}/escaped; echo done`);
    const r = await runProcess(s);
    t.after(async () => {
      try {
        process.kill(await readPid(join(dir, 'escaped')), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    assert.equal(r.exitCode, 0);
    assert.ok(r.durationMs < 3000, `took ${r.durationMs} ms`);
    assert.equal(s.out(), 'done\n');
  });

  test('an AbortSignal cancels the group', async (t) => {
    const dir = await tempDir(t);
    const controller = new AbortController();
    const running = runProcess(
      spec(dir, `sleep 30 & echo $! > ${dir}/grandchild; sleep 30`, { signal: controller.signal }),
    );
    await sleep(200);
    controller.abort();
    const r = await running;
    assert.equal(r.cancelled, true);
    assert.equal(r.timedOut, false);
    assert.ok(r.durationMs < 5000);
    assert.equal(isAlive(await readPid(join(dir, 'grandchild'))), false);
  });

  test('an already aborted signal starts nothing', async (t) => {
    const dir = await tempDir(t);
    const r = await runProcess(spec(dir, `touch ${dir}/ran`, { signal: AbortSignal.abort() }));
    assert.equal(r.cancelled, true);
    await assert.rejects(readPid(join(dir, 'ran')));
  });

  test('a returned promise pauses reading (backpressure) without losing output', async (t) => {
    const dir = await tempDir(t);
    let bytes = 0;
    let calls = 0;
    const r = await runProcess({
      ...spec(dir, 'head -c 2000000 /dev/zero'),
      onOutput: (_s, data) => {
        bytes += data.length;
        calls++;
        return calls % 4 === 0 ? sleep(5) : undefined;
      },
    });
    assert.equal(r.exitCode, 0);
    assert.equal(bytes, 2_000_000);
  });

  test('many killed steps all settle, whichever of exit and pipe close comes first', async (t) => {
    const dir = await tempDir(t);
    const runs = Array.from({ length: 40 }, () =>
      runProcess(spec(dir, "trap '' TERM; echo x; sleep 10", { timeoutMs: 50, graceMs: 50 })),
    );
    const results = await Promise.all(runs);
    assert.ok(results.every((r) => r.timedOut && r.signal === 'SIGKILL'));
  });
}
