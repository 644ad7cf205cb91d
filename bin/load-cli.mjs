// Loads the CLI bundle (dist/bundle/cli/main.cjs, one CommonJS script) with V8's code cache beside
// it (main.cjs.cache): the functions the cache holds are not parsed and compiled again, which was a
// quarter of `otto run`'s own start-up. Node 20 has no compile cache for ES modules, hence a script.
// scripts/bundle.mjs writes the cache after a sample run; a cache V8 rejects (another Node version,
// other V8 flags) or a missing one is written again when this process exits, where it may be.

import { accessSync, constants, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/**
 * Runs the bundle and returns its exports. `writeCache`: write the cache at exit even if it was
 * accepted (scripts/bundle.mjs, after the sample run).
 */
export function loadCli(file, { writeCache = false } = {}) {
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  // The same wrapper as Node's for a CommonJS module; the cache is only valid for the same source.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(source, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const rejected = cachedData !== undefined && script.cachedDataRejected === true;
  if (writeCache || ((cachedData === undefined || rejected) && writable(dirname(file)))) {
    // At exit the cache also holds every function the command compiled, not only the top level.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only installation: it runs without the cache.
      }
    });
  }
  return { exports: module.exports, cache: cachedData === undefined ? 'none' : rejected ? 'rejected' : 'accepted' };
}

/** Whether this process may write in `dir` (a read-only installation skips making a cache it cannot keep). */
function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
