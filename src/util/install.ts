// Where this installation's files are, whichever build is running: the modules tsc writes to
// dist/src/, or the bundle esbuild writes to dist/bundle/ (same entry points, same relative layout
// below it, but code moved into shared chunks, so paths relative to a module's own URL would break).

import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const distAt = here.lastIndexOf(`${sep}dist${sep}`);
if (distAt < 0) throw new Error(`otto runs from ${here}, which is not inside a dist/ build`);

/** The checkout or package: where package.json and dist/ are. */
export const installRoot = here.slice(0, distAt);

/** dist/src or dist/bundle: the tree the entry points (cli/main.js or cli/main.cjs, agent/main.js) live in. */
export const buildRoot = here.slice(0, here.indexOf(sep, distAt + `${sep}dist${sep}`.length));

/** A file of the running build, by its path below src/ (e.g. 'agent/main.js'). */
export function buildFile(path: string): string {
  return join(buildRoot, ...path.split('/'));
}

/** The version in package.json ('0.0.0' when it cannot be read). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(installRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
