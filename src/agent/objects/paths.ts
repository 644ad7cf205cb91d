// Paths the user wrote (archive patterns, `into`, cache paths and key files) checked against the
// workspace: relative, no '..', and — after following symbolic links — still inside it.

import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ObjectError, errnoCode } from './errors.js';

/**
 * The segments of a relative path ('.' and empty segments dropped), or an ObjectError naming `what`
 * for an absolute path or one with a '..' segment.
 */
export function relativeSegments(path: string, what: string): string[] {
  if (path.startsWith('/') || isAbsolute(path)) {
    throw new ObjectError(
      'outside-workspace',
      `${what} '${path}' is an absolute path; write it relative to the workspace`,
    );
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new ObjectError(
      'outside-workspace',
      `${what} '${path}' goes up with '..'; paths must stay inside the workspace`,
    );
  }
  return segments;
}

/** Whether `abs` is `root` or below it (lexically: both must already be resolved). */
export function isInside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The workspace's real path (symbolic links resolved), the root every check compares against. */
export function realWorkspace(workspace: string): string {
  return realpathSync(resolve(workspace));
}

/**
 * The real absolute path of `rel` inside the workspace, or null when it does not exist; throws
 * 'outside-workspace' when it (through a symbolic link) resolves outside.
 */
export function resolveExisting(root: string, rel: string, what: string): string | null {
  const segments = relativeSegments(rel, what);
  const abs = resolve(root, ...segments);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return null;
    throw e;
  }
  if (!isInside(root, real)) {
    throw new ObjectError(
      'outside-workspace',
      `${what} '${rel}' leads outside the workspace (through a symbolic link, to ${real})`,
    );
  }
  return real;
}

/** `rel` shown as the user wrote it relative to the workspace ('.' for the root). */
export function showRel(segments: readonly string[]): string {
  return segments.length === 0 ? '.' : segments.join('/');
}
