// Where a secret's value must never be written: any file under .otto/ (the SQLite database and its
// -wal and -shm files while a run is live, workspaces, objects), the plan, `otto runs`, `otto logs`,
// `otto secrets list`. The steps here only print the secret (masked) and never write it to a file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ottoBin } from '../helpers.js';
import { nodeBin, project, waitFor, type Finished, type Project } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

const STORED = 'st0red-Secret/value+with=chars "and" \\ more';
const ENV_SCOPED = 'prod-only-deploy-key-7f3a9c';
const FROM_ENV = 'from-the-callers-env-Q9w8e7r6';

/** The value and the encodings a careless component could write it in. */
function needles(value: string): Array<[string, Buffer]> {
  return [
    ['value', Buffer.from(value)],
    ['base64', Buffer.from(Buffer.from(value).toString('base64'))],
    ['URL-encoded', Buffer.from(encodeURIComponent(value))],
    ['JSON-escaped', Buffer.from(JSON.stringify(value).slice(1, -1))],
    ['UTF-16', Buffer.from(value, 'utf16le')],
  ];
}

/** Every regular file under `dir`, recursively (symlinks are not followed). */
function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) files(p, out);
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Which files under `dir` hold which secret in which form. */
function findSecrets(dir: string, secrets: Record<string, string>): string[] {
  const hits: string[] = [];
  for (const f of files(dir)) {
    const data = readFileSync(f);
    for (const [name, value] of Object.entries(secrets)) {
      for (const [form, bytes] of needles(value))
        if (data.includes(bytes)) hits.push(`${relative(dir, f)}: ${name} (${form})`);
    }
  }
  return hits;
}

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

test('a secret is in no file under .otto/ (database, -wal, -shm, workspaces), nor in the plan, runs or logs', async (t) => {
  const p = project(t, '');
  const keyFile = join(p.scratch, 'secret.key');
  p.env.OTTO_SECRET_KEY_FILE = keyFile;
  p.env.FROM_ENV = FROM_ENV;
  const use = join(p.scratch, 'use.sh');
  // Uses the secrets the ways a deploy script would, writing only to stdout (which is masked).
  writeFileSync(
    use,
    `printf 'stored=[%s]\\n' "$STORED"
printf 'from-env=[%s]\\n' "$FROM_ENV"
printf %s "$STORED" | base64 -w0; printf '\\n'
${nodeBin} -e 'console.log(JSON.stringify({ token: process.env.FROM_ENV, stored: process.env.STORED }))'
printf 'workspace files: %s\\n' "$(ls -A | wc -l)"
`,
  );
  p.write(
    'Ottofile',
    `environments {
  prod {
    settings { URL = 'https://prod.example' }
    credentials = ['DEPLOY_KEY']
  }
}
pipeline {
  stage('Use') {
    credentials = ['STORED', 'FROM_ENV']
    steps { sh 'sh ${use}' }
  }
  stage('Deploy') {
    environment -> prod
    steps { sh 'printf "deploying with %s\\\\n" "$DEPLOY_KEY"' }
  }
  stage('Hold') {
    gates { enter { input 'Finish?', timeout: '45s' } }
    steps { sh 'echo held' }
  }
}
`,
  );
  p.write('README', 'a file for the workspace copy\n');
  for (const [name, value, env] of [
    ['STORED', STORED, undefined],
    ['DEPLOY_KEY', ENV_SCOPED, 'prod'],
  ] as const) {
    const r = await ottoWithInput(
      p,
      ['secrets', 'set', name, ...(env ? ['--env', env] : [])],
      value,
    );
    assert.equal(r.code, 0, r.stderr);
  }
  const secrets = { STORED, DEPLOY_KEY: ENV_SCOPED, FROM_ENV };
  const key = readFileSync(keyFile, 'utf8').trim();

  const run = p.start(['run', '--secret', 'FROM_ENV'], SLOW);
  const id = (
    await waitFor(
      'the run to wait at Hold',
      () => /otto approve (\d+) Hold/.exec(run.stderr()),
      30_000,
    )
  )[1] as string;

  // While the run waits, the database is open: its -wal and -shm files exist and are searched too.
  const live = files(p.home).map((f) => relative(p.home, f));
  assert.ok(live.includes('otto.db'), live.join('\n'));
  assert.ok(
    live.includes('otto.db-wal'),
    `the WAL is searched while the run is live: ${live.join(', ')}`,
  );
  assert.ok(
    live.some((f) => f.startsWith('runs/')),
    `workspaces are searched: ${live.join(', ')}`,
  );
  assert.deepEqual(findSecrets(p.home, secrets), [], 'no secret in .otto/ while the run waits');

  const approve = await p.start(['approve', id, 'Hold']).done;
  assert.equal(approve.code, 0, approve.stderr);
  const done = await run.done;
  assert.equal(done.code, 0, done.stdout + done.stderr);
  // The steps did get the values (masked in the output).
  assert.match(done.stdout, /stored=\[\*\*\*\]/);
  assert.match(done.stdout, /from-env=\[\*\*\*\]/);
  assert.match(done.stdout, /deploying with \*\*\*/);

  assert.deepEqual(findSecrets(p.home, secrets), [], 'no secret in .otto/ after the run');
  assert.deepEqual(
    findSecrets(p.home, { key }).filter((h) => h.includes('(value)')),
    [],
    'the key that seals the secrets is not kept beside them',
  );

  const outputs: Array<[string, string[]]> = [
    ['otto explain --json', ['explain', '--json']],
    ['otto runs --json', ['runs', '--json']],
    ['otto logs', ['logs', id]],
    ['otto secrets list --json', ['secrets', 'list', '--json']],
    ['otto deployments --json', ['deployments', '--json']],
  ];
  for (const [what, args] of outputs) {
    const r = await p.start(args).done;
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    for (const [name, value] of Object.entries(secrets)) {
      for (const [form, bytes] of needles(value))
        assert.ok(
          !Buffer.from(r.stdout + r.stderr).includes(bytes),
          `${what} shows ${name} (${form})`,
        );
    }
  }
  const list = JSON.parse((await p.start(['secrets', 'list', '--json']).done).stdout) as Array<{
    name: string;
    environment: string | null;
  }>;
  assert.deepEqual(list.map((s) => `${s.name}@${s.environment ?? '*'}`).sort(), [
    'DEPLOY_KEY@prod',
    'STORED@*',
  ]);
});
