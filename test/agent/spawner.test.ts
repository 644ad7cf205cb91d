// The native step helper (native/otto-spawn.c, src/agent/spawner.ts) against Node's spawn: output
// complete and in order, backpressure, parallel steps, program lookup; and what only the helper has:
// its death mid-step, the agent's death, staying out of the agent's way when idle.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  defaultSpawner,
  runProcess,
  type ProcessSpec,
  type Spawner,
} from '../../src/agent/process.js';
import { HELPER_PATH, helperPid } from '../../src/agent/spawner.js';
import { repoRoot } from '../helpers.js';
import { buildSpawnHelper, isAlive, readPid, sleep, stepSpec, tempDir } from './helpers.js';


interface Captured {
  stdout: string;
  stderr: string;
  /** Stream names in the order chunks arrived. */
  readonly order: string[];
}

function spec(
  spawner: Spawner,
  cwd: string,
  script: string,
  extra: Partial<ProcessSpec> = {},
): ProcessSpec & { out: Captured } {
  const out: Captured = { stdout: '', stderr: '', order: [] };
  return {
    ...stepSpec(spawner, cwd, script),
    onOutput: (stream, data) => {
      out[stream] += data.toString('latin1');
      out.order.push(stream);
    },
    out,
    ...extra,
  };
}

function seq(from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += `${i}\n`;
  return s;
}

for (const spawner of ['native', 'node'] as const) {
  describe(`spawner: ${spawner}`, () => {
    before(buildSpawnHelper);

    test('large output on both streams arrives complete, each stream in order', async (t) => {
      const dir = await tempDir(t);
      const s = spec(spawner, dir, 'seq 1 300000 >&2 & seq 1 1500000; wait');
      const r = await runProcess(s);
      assert.equal(r.exitCode, 0);
      assert.ok(s.out.stdout === seq(1, 1_500_000), `stdout: ${s.out.stdout.length} characters`);
      assert.ok(s.out.stderr === seq(1, 300_000), `stderr: ${s.out.stderr.length} characters`);
    });

    test('output written just before the exit is never lost', async (t) => {
      const dir = await tempDir(t);
      const runs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const s = spec(
            spawner,
            dir,
            `head -c ${i * 1000} /dev/zero | tr '\\0' a; printf end >&2; exit ${i % 5}`,
          );
          return runProcess(s).then((r) => ({ r, s, i }));
        }),
      );
      for (const { r, s, i } of runs) {
        assert.equal(r.exitCode, i % 5);
        assert.equal(s.out.stdout, 'a'.repeat(i * 1000));
        assert.equal(s.out.stderr, 'end');
      }
    });

    test('a step killed by a signal reports it', async (t) => {
      const dir = await tempDir(t);
      const r = await runProcess(spec(spawner, dir, 'echo bye; kill -TERM $$; sleep 5'));
      assert.equal(r.exitCode, null);
      assert.equal(r.signal, 'SIGTERM');
      assert.equal(r.timedOut, false);
    });

    test('arguments pass unchanged and the program is found in the step’s own PATH', async (t) => {
      const dir = await tempDir(t);
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin', 'show-args'), '#!/bin/sh\nprintf "[%s]" "$@"\n');
      await chmod(join(dir, 'bin', 'show-args'), 0o755);
      const s = spec(spawner, dir, '', {
        argv: ['show-args', 'a b', '', 'é€ 😀', '*', '$HOME'],
        env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` },
      });
      const r = await runProcess(s);
      assert.equal(r.error, null);
      assert.equal(Buffer.from(s.out.stdout, 'latin1').toString(), '[a b][][é€ 😀][*][$HOME]');
      const missing = await runProcess({ ...s, env: { PATH: '/usr/bin:/bin' } });
      assert.equal(missing.error, 'spawn show-args ENOENT: no such file or directory');
    });

    test('a script without a #! line runs under /bin/sh, as execvp does', async (t) => {
      const dir = await tempDir(t);
      await writeFile(join(dir, 'plain'), 'echo "plain $1"\n');
      await chmod(join(dir, 'plain'), 0o755);
      const s = spec(spawner, dir, '', { argv: [join(dir, 'plain'), 'ran'] });
      assert.equal((await runProcess(s)).exitCode, 0);
      assert.equal(s.out.stdout, 'plain ran\n');
    });

    test('a program that is not executable is EACCES', async (t) => {
      const dir = await tempDir(t);
      await writeFile(join(dir, 'data'), 'x');
      const r = await runProcess(spec(spawner, dir, '', { argv: [join(dir, 'data')] }));
      assert.equal(r.error, `spawn ${join(dir, 'data')} EACCES: permission denied`);
    });

    test('a slow consumer slows the step down instead of buffering its output', async (t) => {
      const dir = await tempDir(t);
      const total = 8_000_000;
      let consumed = 0;
      let consumedWhenDone = -1;
      const r = await runProcess({
        ...spec(spawner, dir, `head -c ${total} /dev/zero; touch ${dir}/done`),
        onOutput: (_stream, data) => {
          if (consumedWhenDone < 0 && existsSync(join(dir, 'done'))) consumedWhenDone = consumed;
          consumed += data.length;
          return sleep(1);
        },
      });
      assert.equal(r.exitCode, 0);
      assert.equal(consumed, total);
      // `done` may appear only after the last chunk was consumed (touch is slow on a busy machine).
      if (consumedWhenDone < 0) consumedWhenDone = consumed;
      // When the writer finished, at most the pipes, the helper's socket and a bounded queue held
      // the rest: without backpressure it finishes long before the consumer is halfway.
      assert.ok(
        consumedWhenDone >= total - 2_000_000,
        `writer finished at ${consumedWhenDone} bytes consumed`,
      );
    });

    test('a paused step does not hold up the output of another', async (t) => {
      const dir = await tempDir(t);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let slowBytes = 0;
      const slow = runProcess({
        ...spec(spawner, dir, 'head -c 4000000 /dev/zero'),
        onOutput: (_stream, data) => {
          slowBytes += data.length;
          return gate;
        },
      });
      const fast = spec(spawner, dir, 'head -c 3000000 /dev/zero | tr "\\0" x');
      const r = await runProcess(fast);
      assert.equal(r.exitCode, 0);
      assert.equal(fast.out.stdout.length, 3_000_000);
      assert.ok(slowBytes < 2_000_000, `the paused step delivered ${slowBytes} bytes`);
      release();
      assert.equal((await slow).exitCode, 0);
      assert.equal(slowBytes, 4_000_000);
    });

    test('many steps in parallel each get their own output and status', async (t) => {
      const dir = await tempDir(t);
      const runs = Array.from({ length: 100 }, (_, i) => {
        const s = spec(spawner, dir, `echo out${i}; echo err${i} >&2; exit ${i % 7}`);
        return runProcess(s).then((r) => ({ r, s, i }));
      });
      for (const { r, s, i } of await Promise.all(runs)) {
        assert.equal(r.exitCode, i % 7);
        assert.equal(s.out.stdout, `out${i}\n`);
        assert.equal(s.out.stderr, `err${i}\n`);
      }
    });
  });
}

describe('the native helper', () => {
  before(buildSpawnHelper);

  test('OTTO_SPAWNER chooses the spawner; unset, the built helper is used', (t) => {
    const saved = process.env.OTTO_SPAWNER;
    t.after(() => {
      if (saved === undefined) delete process.env.OTTO_SPAWNER;
      else process.env.OTTO_SPAWNER = saved;
    });
    delete process.env.OTTO_SPAWNER;
    assert.equal(defaultSpawner(), 'native');
    process.env.OTTO_SPAWNER = 'node';
    assert.equal(defaultSpawner(), 'node');
    process.env.OTTO_SPAWNER = 'native';
    assert.equal(defaultSpawner(), 'native');
  });

  test('a step whose helper dies fails at once, its group is killed, and the next step works', async (t) => {
    const dir = await tempDir(t);
    const running = runProcess(
      spec('native', dir, `sleep 30 & echo $! > ${dir}/child; echo $$ > ${dir}/leader; wait`),
    );
    while (!existsSync(join(dir, 'child'))) await sleep(10);
    const helper = helperPid();
    assert.ok(helper !== undefined);
    process.kill(helper, 'SIGKILL');
    const r = await running;
    assert.equal(r.error, 'the step helper otto-spawn was killed by SIGKILL; the step was stopped');
    assert.ok(r.durationMs < 5000);
    await sleep(50);
    assert.equal(isAlive(await readPid(join(dir, 'leader'))), false);
    assert.equal(isAlive(await readPid(join(dir, 'child'))), false);

    const next = spec('native', dir, 'echo again $PPID');
    assert.equal((await runProcess(next)).exitCode, 0);
    assert.notEqual(helperPid(), helper);
    assert.equal(next.out.stdout, `again ${helperPid()}\n`);
  });

  test('when the agent dies, the helper kills its steps and exits', async (t) => {
    const dir = await tempDir(t);
    const script = join(dir, 'agent.mjs');
    const dist = (p: string): string =>
      pathToFileURL(join(repoRoot, 'dist', 'src', 'agent', p)).href;
    await writeFile(
      script,
      `import { runProcess, shellArgv } from '${dist('process.js')}';
       import { helperPid } from '${dist('spawner.js')}';
       void runProcess({ argv: shellArgv('echo $$ > ${dir}/leader; sleep 30'), cwd: '${dir}', env: {},
         timeoutMs: 0, graceMs: 300, spawner: 'native', onOutput: () => {} });
       setTimeout(() => console.log(helperPid()), 100);
       setInterval(() => {}, 1000);`,
    );
    const agent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const helper = Number(
      await new Promise<string>((resolve) =>
        agent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      ),
    );
    while (!existsSync(join(dir, 'leader'))) await sleep(10);
    const leader = await readPid(join(dir, 'leader'));
    agent.kill('SIGKILL');
    for (let i = 0; i < 100 && (isAlive(leader) || isAlive(helper)); i++) await sleep(20);
    assert.equal(isAlive(leader), false, 'the step outlived the agent');
    assert.equal(isAlive(helper), false, 'the helper outlived the agent');
  });

  test('an idle helper does not keep the agent alive', async (t) => {
    const dir = await tempDir(t);
    const script = join(dir, 'agent.mjs');
    const url = pathToFileURL(join(repoRoot, 'dist', 'src', 'agent', 'process.js')).href;
    await writeFile(
      script,
      `import { runProcess, shellArgv } from '${url}';
       const r = await runProcess({ argv: shellArgv('echo $PPID'), cwd: '/', env: {}, timeoutMs: 0,
         graceMs: 300, onOutput: (_s, d) => { process.stdout.write(d); } });
       console.log(r.exitCode);`,
    );
    const started = Date.now();
    const r = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, OTTO_SPAWNER: '' },
    });
    assert.equal(r.status, 0, r.stderr);
    const [ppid, code] = r.stdout.trim().split('\n');
    assert.equal(code, '0');
    assert.notEqual(Number(ppid), r.pid, 'the step did not run under the helper');
    assert.ok(Date.now() - started < 5000);
  });

  test('a helper asked for another protocol refuses to start', () => {
    const r = spawnSync(HELPER_PATH, ['--protocol=0'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /protocol 1/);
  });
});
