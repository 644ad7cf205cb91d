// Paths inside a job's workspace: creating it, and resolving a step's cwd without escaping it.

import { mkdir, stat } from 'node:fs/promises';
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
  try {
    if (!(await stat(dir)).isDirectory())
      return { error: `working directory '${cwd}' is not a directory` };
  } catch {
    return { error: `working directory '${cwd}' does not exist in the workspace` };
  }
  return { dir };
}
