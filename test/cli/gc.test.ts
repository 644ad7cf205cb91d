// otto gc from the command line: on this project's object store, as a dry run and for real, with
// JSON; artifacts past OTTO_ARTIFACT_DAYS go (and `otto run` can no longer fetch them); a bad
// setting is a usage error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { gcDue } from '../../src/util/gc-schedule.js';
import { project } from './run-helpers.js';

interface GcJson {
  readonly dryRun: boolean;
  readonly artifactDays: number;
  readonly cacheDays: number;
  readonly artifactsRemoved: number;
  readonly cachesRemoved: number;
  readonly blobsRemoved: number;
  readonly blobsKept: number;
}

test('otto gc keeps what is recent and removes an artifact past its days, with its blobs', { timeout: 60_000 }, (t) => {
  const p = project(
    t,
    `pipeline {
  stage('Build') {
    steps {
      sh 'mkdir -p dist && echo "build $OTTO_RUN_ID" > dist/app.txt'
      archive 'dist/**', name: 'app'
    }
  }
}
`,
  );
  assert.equal(p.otto(['run', '--quiet']).code, 0);
  const kept = p.otto(['gc', '--json']);
  assert.equal(kept.code, 0, kept.stderr);
  const k = JSON.parse(kept.stdout) as GcJson;
  assert.deepEqual([k.artifactDays, k.cacheDays, k.artifactsRemoved, k.blobsRemoved], [90, 7, 0, 0]);
  assert.ok(k.blobsKept >= 2, 'the manifest and the file');

  // The artifact was archived 91 days ago; its blobs long before the grace period.
  const objects = join(p.home, 'objects');
  const old = new Date(Date.now() - 91 * 24 * 60 * 60 * 1000);
  for (const f of readdirSync(objects, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) utimesSync(join(f.parentPath, f.name), old, old);
  }
  const dry = p.otto(['gc', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /: would remove 1 artifact older than 90 days, 0 caches unused for 7 days, and 2 blobs nothing uses \(/);
  const real = p.otto(['gc']);
  assert.match(real.stdout, /: removed 1 artifact older than 90 days, 0 caches unused for 7 days, and 2 blobs nothing uses \(/);
  const again = JSON.parse(p.otto(['gc', '--json']).stdout) as GcJson;
  assert.deepEqual([again.artifactsRemoved, again.blobsRemoved, again.blobsKept], [0, 0, 0]);
});

test('a bad OTTO_ARTIFACT_DAYS is a usage error', (t) => {
  const p = project(t, `pipeline { stage('A') { steps { sh 'true' } } }\n`);
  p.env.OTTO_ARTIFACT_DAYS = 'forever';
  const r = p.otto(['gc']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /OTTO_ARTIFACT_DAYS is 'forever': it must be a whole number of days, such as 90 \(0 keeps them for good\)/);
});

test('a collection is due once a day by the stamp; a new stamp is only written', (t) => {
  const p = project(t, `pipeline { stage('A') { steps { sh 'true' } } }\n`);
  assert.equal(p.otto(['run', '--quiet']).code, 0);
  const stamp = join(p.home, 'gc-stamp');
  assert.ok(existsSync(stamp), 'otto run wrote the stamp');
  assert.equal(gcDue(stamp), false, 'a fresh stamp: not due');
  const yesterday = new Date(Date.now() - 25 * 60 * 60 * 1000);
  utimesSync(stamp, yesterday, yesterday);
  assert.equal(gcDue(stamp), true, 'a day old: due');
  assert.equal(gcDue(stamp), false, 'and marked started');
  const fresh = join(p.scratch, 'new-stamp');
  assert.equal(gcDue(fresh), false, 'no stamp yet: nothing to collect in a new store');
  assert.ok(existsSync(fresh));
});
