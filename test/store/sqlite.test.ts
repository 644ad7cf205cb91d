// The store conformance suite against SqliteStore: a new database file per test, and a second
// SqliteStore on the same file for the multi-instance cases (two otto processes sharing a store).

import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/index.js';
import { storeConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'otto-store-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
let last = '';

storeConformance({
  name: 'SqliteStore',
  open: async () => {
    last = join(dir, `store-${++count}.db`);
    return new SqliteStore(last);
  },
  openShared: async () => new SqliteStore(last),
});
