// Paths inside a job's workspace: creating it, and resolving a step's cwd without escaping it.

import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

export async function ensureWorkspace(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/**
 * The absolute directory for `cwd` (relative to the workspace), or a message saying why it cannot be
 * used: it escapes the workspace (`..`, an absolute path) or is not a directory. Symlinks inside the
 * workspace are followed by the process itself; the workspace is the step's own, so a link out of it
 * was put there by the step and is not an accident this check could prevent.
 */
export async function resolveCwd(
  workspace: string,
  cwd: string,
): Promise<{ dir: string } | { error: string }> {
  const root = resolve(workspace);
  const dir = resolve(root, cwd === '' ? '.' : cwd);
  const rel = relative(root, dir);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
    return { error: `working directory '${cwd}' is outside the workspace` };
  }
  // A local stat takes microseconds; the promise version would cost every step a thread-pool trip.
  let st;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch {
    st = undefined; // ENOTDIR (a file on the way), EACCES: not a directory the step can use
  }
  if (st === undefined) return { error: `working directory '${cwd}' does not exist in the workspace` };
  if (!st.isDirectory()) return { error: `working directory '${cwd}' is not a directory` };
  return { dir };
}
