// Input gates as people meet them in `otto run`: answered in advance (--approve STAGE, --yes), by
// `otto approve` from another process while the run waits, rejected with a comment, timed out,
// refused to someone not among the approvers, and answered at a prompt on a real pseudo-terminal.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { ottoBin } from '../helpers.js';
import { project, waitFor, type Finished, type Project, type RunJson } from './run-helpers.js';
import { join } from 'node:path';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

const me = userInfo().username;

async function runsJson(p: Project): Promise<RunJson[]> {
  const r = await p.start(['runs', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RunJson[];
}

async function stageOf(p: Project, id: string, path: string): Promise<RunJson['stages'][number]> {
  const run = (await runsJson(p)).find((r) => r.id === id);
  const s = run?.stages.find((x) => x.path === path);
  assert.ok(s, `run ${id} has stage ${path}`);
  return s;
}

function gated(p: Project): Project {
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  return p;
}

const APPROVE_THEN_AFTER = (gate: string): string => `pipeline {
  stage('Approve') {
    gates { enter { ${gate} } }
  }
  stage('After') { steps { sh 'echo after-the-gate' } }
}
`;

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

describe('input gates', { concurrency: 4 }, () => {
  it('--approve STAGE answers that stage’s gate in advance, and only that one', async (t) => {
    const p = gated(
      project(
        t,
        `pipeline {
  stage('First') { gates { enter { input 'First?', timeout: '3s' } } }
  stage('Second') {
    gates { enter { input 'Second?', timeout: '2s' } }
    steps { sh 'echo second-ran' }
  }
}
`,
      ),
    );
    const started = Date.now();
    const r = await p.start(['run', '--approve', 'First'], SLOW).done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const [run] = await runsJson(p);
    assert.equal(run?.stages.find((s) => s.path === 'First')?.status, 'succeeded');
    // Second was not named: it waits, announces how to answer, and times out.
    assert.match(r.stderr, new RegExp(`otto approve ${run?.id} Second`));
    assert.equal(run?.stages.find((s) => s.path === 'Second')?.status, 'timed_out');
    assert.doesNotMatch(r.stdout, /second-ran/);
    assert.ok(Date.now() - started < 45_000, 'the 2s gate timed out promptly');
  });

  it('--approve naming no stage with an input gate is reported, not silently ignored', async (t) => {
    // A typo ('deploy' for 'Deploy') would otherwise leave the run waiting for the gate's whole timeout.
    const p = gated(
      project(
        t,
        "pipeline { stage('Deploy') { gates { enter { input 'Go?', timeout: '1s' } } } }\n",
      ),
    );
    const r = await p.start(['run', '--approve', 'deploy'], SLOW).done;
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /(error|warning):[^\n]*'?deploy'?[^\n]*/i,
      `the unknown stage is named:\n${r.stderr}`,
    );
    assert.match(r.stderr, /Deploy/, 'and the stages that do have input gates are listed');
  });

  it('--approve STAGE lets the run through', async (t) => {
    const p = gated(project(t, APPROVE_THEN_AFTER("input 'Ship it?', timeout: '45s'")));
    const r = await p.start(['run', '--approve', 'Approve'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /after-the-gate/);
    const [run] = await runsJson(p);
    assert.deepEqual(
      run?.stages.map((s) => [s.path, s.status]),
      [
        ['Approve', 'succeeded'],
        ['After', 'succeeded'],
      ],
    );
  });

  it('--yes answers every input gate', async (t) => {
    const p = gated(
      project(
        t,
        `pipeline {
  stage('One') { gates { enter { input 'One?', timeout: '45s' } } steps { sh 'echo one' } }
  stage('Two') { gates { exit { input 'Two?', timeout: '45s' } } steps { sh 'echo two' } }
}
`,
      ),
    );
    const r = await p.start(['run', '--yes'], SLOW).done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [run] = await runsJson(p);
    assert.deepEqual(
      run?.stages.map((s) => s.status),
      ['succeeded', 'succeeded'],
    );
  });

  it('otto approve RUN STAGE from another process, while the run waits', async (t) => {
    const p = gated(project(t, APPROVE_THEN_AFTER("input 'Ship it?', timeout: '45s'")));
    const run = p.start(['run'], SLOW);
    const m = await waitFor(
      'the run to say how to answer',
      () =>
        /run (\d+) is waiting: stage 'Approve' asks "Ship it\?".*otto approve (\d+) Approve/.exec(
          run.stderr(),
        ),
      30_000,
    );
    const id = m[1] as string;
    assert.equal(m[2], id);
    const waiting = (await runsJson(p)).find((r) => r.id === id);
    assert.equal(waiting?.status, 'waiting');
    assert.equal(waiting?.stages.find((s) => s.path === 'Approve')?.status, 'waiting');
    assert.equal(waiting?.stages.find((s) => s.path === 'After')?.status, 'pending');

    const a = await p.start(['approve', id, 'Approve']).done;
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /approved: run \d+, stage 'Approve'/);
    const done = await run.done;
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /after-the-gate/);
    assert.equal((await stageOf(p, id, 'Approve')).status, 'succeeded');

    // Once answered, the gate cannot be answered again.
    const again = await p.start(['approve', id, 'Approve']).done;
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /not waiting for a person/);
  });

  it('otto approve --reject --comment fails the stage with the comment; the run exits 1', async (t) => {
    const p = gated(
      project(
        t,
        APPROVE_THEN_AFTER(
          `input 'Ship it?', approvers: ['${me}', 'someone-else'], timeout: '45s'`,
        ),
      ),
    );
    const run = p.start(['run'], SLOW);
    const id = (
      await waitFor(
        'the run to wait',
        () => /otto approve (\d+) Approve/.exec(run.stderr()),
        30_000,
      )
    )[1] as string;
    const a = await p.start([
      'approve',
      id,
      'Approve',
      '--reject',
      '--comment',
      'staging is on fire',
    ]).done;
    assert.equal(a.code, 0, a.stderr);
    const done = await run.done;
    assert.equal(done.code, 1, done.stdout + done.stderr);
    assert.doesNotMatch(done.stdout, /after-the-gate/);
    const s = await stageOf(p, id, 'Approve');
    assert.equal(s.status, 'failed');
    assert.match(s.message, /staging is on fire/);
    assert.match(done.stderr, /staging is on fire/, 'the summary shows why');
    assert.equal((await stageOf(p, id, 'After')).status, 'skipped');
  });

  it("an input gate with timeout: '2s' times out: the stage is timed_out, the run exits 1", async (t) => {
    const p = gated(project(t, APPROVE_THEN_AFTER("input 'x', timeout: '2s'")));
    const started = Date.now();
    const r = await p.start(['run'], SLOW).done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const [run] = await runsJson(p);
    const s = run?.stages.find((x) => x.path === 'Approve');
    assert.equal(s?.status, 'timed_out');
    assert.match(s?.message ?? '', /time/);
    assert.equal(run?.status, 'failed');
    const took = Date.now() - started;
    assert.ok(took >= 2000 && took < 45_000, `took ${took}ms`);
  });

  it('approvers: otto approve by someone not listed is refused (and --yes does not answer for them)', async (t) => {
    const p = gated(
      project(
        t,
        APPROVE_THEN_AFTER("input 'Release?', approvers: ['release-manager-x'], timeout: '30s'"),
      ),
    );
    const run = p.start(['run', '--yes'], SLOW);
    const m = await waitFor(
      'the run to wait for an approver',
      () =>
        /run (\d+) is waiting: stage 'Approve'.*approvers: release-manager-x/.exec(run.stderr()),
      30_000,
    );
    const id = m[1] as string;
    for (const args of [
      ['approve', id, 'Approve'],
      ['approve', id, 'Approve', '--reject'],
    ]) {
      const a = await p.start(args).done;
      assert.equal(a.code, 1, a.stdout + a.stderr);
      assert.match(
        a.stderr,
        new RegExp(`only release-manager-x may answer this gate, and you are '${me}'`),
      );
    }
    assert.equal(
      (await stageOf(p, id, 'Approve')).status,
      'waiting',
      'the refused answers changed nothing',
    );
    const c = await p.start(['cancel', id]).done;
    assert.equal(c.code, 0, c.stderr);
    const done = await run.done;
    assert.equal(done.code, 130, done.stdout + done.stderr);
    assert.equal((await stageOf(p, id, 'After')).status, 'cancelled');
  });

  for (const [answer, expected] of [
    ['y', { code: 0, status: 'succeeded', after: true }],
    ['n: smoke tests are red', { code: 1, status: 'failed', after: false }],
  ] as const) {
    it(
      `a prompt on a terminal, answered '${answer}'`,
      { skip: hasScript ? false : 'util-linux script(1) is not installed' },
      async (t) => {
        const p = gated(project(t, APPROVE_THEN_AFTER("input 'Go on?', timeout: '45s'")));
        // script(1) gives otto a pseudo-terminal on stdin and stdout; its stdin is what we type.
        const child = spawn(
          'script',
          ['-qfec', `${ottoBin} run`, '/dev/null'],
          {
            cwd: p.dir,
            env: { ...process.env, ...p.env, NO_COLOR: '1', TERM: 'xterm' } as NodeJS.ProcessEnv,
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        );
        const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
        t.after(() => {
          clearTimeout(kill);
          if (child.exitCode === null) child.kill('SIGKILL');
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const closed = new Promise<Finished>((resolve) =>
          child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: '' })),
        );
        await waitFor('the prompt', () => /Approve: Go on\? \[y\/n/.test(out), 30_000);
        child.stdin.write(`${answer}\r`);
        const done = await closed;
        child.stdin.end();
        assert.equal(done.code, expected.code, done.stdout);
        const [run] = await runsJson(p);
        assert.equal(run?.stages.find((s) => s.path === 'Approve')?.status, expected.status);
        assert.equal(
          run?.stages.find((s) => s.path === 'After')?.status,
          expected.after ? 'succeeded' : 'skipped',
        );
        if (!expected.after)
          assert.match(
            run?.stages.find((s) => s.path === 'Approve')?.message ?? '',
            /smoke tests are red/,
          );
      },
    );
  }
});
