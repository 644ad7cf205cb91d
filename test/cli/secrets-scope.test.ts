// Which stages see which secrets: only those a stage declares in `credentials` or gets from the
// environment it deploys to (environment-specific value first, then the all-environments one), never
// the caller's environment; and a missing secret fails its stage before anything runs, saying how
// to set it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ottoBin } from '../helpers.js';
import { project, type Finished, type Project, type RunJson } from './run-helpers.js';

/** Runs may wait on gates, and the test machine may be busy: allow a minute before SIGKILL. */
const SLOW = { timeoutMs: 60_000 };

const sha256 = (s: string): string =>
  spawnSync('sha256sum', { input: s, encoding: 'utf8' }).stdout.slice(0, 64);

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

async function setSecret(p: Project, name: string, value: string, env?: string): Promise<void> {
  const r = await ottoWithInput(p, ['secrets', 'set', name, ...(env ? ['--env', env] : [])], value);
  assert.equal(r.code, 0, r.stderr);
}

async function runsJson(p: Project): Promise<RunJson[]> {
  const r = await p.start(['runs', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RunJson[];
}

function keyed(p: Project): void {
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
}

test('a stage sees only the secrets it declares or its environment binds; the caller’s environment never reaches it', async (t) => {
  const p = project(t, '');
  keyed(p);
  // The caller's environment holds values under the same names: only --secret may pass one on.
  p.env.DEPLOY_KEY = 'callers-deploy-key-should-not-be-seen';
  p.env.TOKEN = 'callers-token-should-not-be-seen';
  p.env.FROM_ENV = 'from-env-by-flag-4444';
  const show = join(p.scratch, 'show.sh');
  writeFileSync(
    show,
    `for n in DEPLOY_KEY TOKEN FROM_ENV; do
  v=$(printenv "$n" || true)
  if [ -n "$v" ]; then printf '%s %s=%s\\n' "$OTTO_STAGE" "$n" "$(printf %s "$v" | sha256sum | cut -c1-64)"; else printf '%s %s=<empty>\\n' "$OTTO_STAGE" "$n"; fi
done
`,
  );
  p.write(
    'Ottofile',
    `environments {
  prod {
    settings { URL = 'https://prod.example' }
    credentials = ['DEPLOY_KEY']
  }
  qa { credentials = ['DEPLOY_KEY'] }
}
pipeline {
  stage('Plain') { steps { sh 'sh ${show}' } }
  stage('WithToken') {
    credentials = ['TOKEN']
    steps { sh 'sh ${show}' }
  }
  stage('WithFlag') {
    credentials = ['FROM_ENV']
    steps { sh 'sh ${show}' }
  }
  stage('Prod') {
    environment -> prod
    steps { sh 'sh ${show}' }
  }
  stage('QA') {
    environment -> qa
    steps { sh 'sh ${show}' }
  }
}
`,
  );
  const values = {
    prod: 'prod-deploy-key-1111',
    any: 'any-env-deploy-key-2222',
    token: 'stored-token-3333',
  };
  await setSecret(p, 'DEPLOY_KEY', values.prod, 'prod');
  await setSecret(p, 'DEPLOY_KEY', values.any);
  await setSecret(p, 'TOKEN', values.token);

  const r = await p.start(['run', '--secret', 'FROM_ENV'], SLOW).done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const seen = (stage: string, name: string): string => {
    const m = new RegExp(`\\] ${stage} ${name}=(\\S+)`).exec(r.stdout);
    assert.ok(m, `${stage} printed ${name}:\n${r.stdout}`);
    return m[1] as string;
  };
  const expected: Record<string, Record<string, string>> = {
    Plain: { DEPLOY_KEY: '<empty>', TOKEN: '<empty>', FROM_ENV: '<empty>' },
    WithToken: { DEPLOY_KEY: '<empty>', TOKEN: sha256(values.token), FROM_ENV: '<empty>' },
    WithFlag: {
      DEPLOY_KEY: '<empty>',
      TOKEN: '<empty>',
      FROM_ENV: sha256('from-env-by-flag-4444'),
    },
    Prod: { DEPLOY_KEY: sha256(values.prod), TOKEN: '<empty>', FROM_ENV: '<empty>' },
    QA: { DEPLOY_KEY: sha256(values.any), TOKEN: '<empty>', FROM_ENV: '<empty>' },
  };
  for (const [stage, vars] of Object.entries(expected)) {
    for (const [name, want] of Object.entries(vars))
      assert.equal(seen(stage, name), want, `${stage} sees ${name}`);
  }
});

test('a missing secret fails the stage before it runs, saying how to set it', async (t) => {
  const p = project(t, '');
  keyed(p);
  const ran = join(p.scratch, 'ran');
  p.write(
    'Ottofile',
    `pipeline {
  stage('Needs') {
    credentials = ['NOPE']
    steps { sh 'touch ${ran}' }
  }
}
`,
  );
  const r = await p.start(['run'], SLOW).done;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(existsSync(ran), false, 'the step did not run');
  const [run] = await runsJson(p);
  const stage = run?.stages.find((s) => s.path === 'Needs');
  assert.equal(stage?.status, 'failed');
  assert.match(stage?.message ?? '', /secret 'NOPE' is not set/);
  assert.match(stage?.message ?? '', /otto secrets set NOPE/);
  assert.match(stage?.message ?? '', /--secret NOPE/);
  assert.match(r.stderr, /otto secrets set NOPE/, 'the run says how to set it');
  assert.doesNotMatch(r.stdout, /▶ running/, 'the stage never started running');
});

test("a secret missing for a stage's environment (set only for another one) fails it, naming --env", async (t) => {
  const p = project(t, '');
  keyed(p);
  const ran = join(p.scratch, 'ran');
  p.write(
    'Ottofile',
    `environments {
  prod { credentials = ['PROD_KEY'] }
  staging { credentials = ['PROD_KEY'] }
}
pipeline {
  stage('Deploy') {
    environment -> prod
    steps { sh 'touch ${ran}' }
  }
}
`,
  );
  await setSecret(p, 'PROD_KEY', 'only-for-staging-5555', 'staging');
  const r = await p.start(['run'], SLOW).done;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(existsSync(ran), false, 'the step did not run');
  const stage = (await runsJson(p))[0]?.stages.find((s) => s.path === 'Deploy');
  assert.equal(stage?.status, 'failed');
  assert.match(stage?.message ?? '', /secret 'PROD_KEY' is not set \(for environment 'prod'/);
  assert.match(stage?.message ?? '', /otto secrets set PROD_KEY --env prod/);
});

test('--secret NAME with no NAME in the environment is a usage error; nothing runs', async (t) => {
  const p = project(
    t,
    "pipeline { stage('A') { credentials = ['ABSENT_VAR'] steps { sh 'echo hi' } } }\n",
  );
  keyed(p);
  p.env.ABSENT_VAR = undefined;
  const r = await p.start(['run', '--secret', 'ABSENT_VAR'], SLOW).done;
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--secret ABSENT_VAR: the environment has no ABSENT_VAR/);
  assert.match(r.stderr, /otto secrets set ABSENT_VAR/);
  assert.doesNotMatch(r.stdout, /hi/);
});

test('a secret shorter than 4 characters is passed on but not masked, and the run warns by name, never value', async (t) => {
  const p = project(
    t,
    "pipeline { stage('A') { credentials = ['TINY'] steps { sh 'printf \"tiny=[%s]\\\\n\" \"$TINY\"' } } }\n",
  );
  keyed(p);
  p.env.TINY = 'q7z';
  const r = await p.start(['run', '--secret', 'TINY'], SLOW).done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /tiny=\[q7z\]/,
    'too short to mask: masking it would garble ordinary output',
  );
  assert.match(r.stdout + r.stderr, /warning: secret TINY is shorter than 4 characters/);
  assert.equal(
    (r.stdout + r.stderr).split('q7z').length - 1,
    1,
    'the value appears only where the step printed it',
  );
});
