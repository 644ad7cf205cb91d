// Writing a restored file into a workspace without ever following a symbolic link that is already
// there (a link planted by a step could otherwise redirect the write outside the workspace).

import { closeSync, constants, fchmodSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { ObjectError, errnoCode } from './errors.js';

const WRITE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
/** O_EXCL never follows a link and tells a new file (whose mode we know) from an existing one. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

let umask: number | undefined;
function currentUmask(): number {
  // Reading the umask is safe; only setting it through process.umask() is racy (DEP0139).
  return (umask ??= process.umask());
}

/** Opens `path` for writing (created or truncated) with exactly `mode`; a link there is replaced. */
export function openForRestore(path: string, mode: number): number {
  try {
    const fd = openSync(path, CREATE_FLAGS, mode);
    // A new file has mode & ~umask: right unless the umask takes bits the file needs.
    if ((mode & currentUmask()) !== 0) chmodOrClose(fd, mode);
    return fd;
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
  }
  let fd: number;
  try {
    fd = openSync(path, WRITE_FLAGS, mode);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ELOOP') {
      unlinkSync(path);
      fd = openSync(path, WRITE_FLAGS, mode);
    } else if (code === 'EISDIR') {
      throw new ObjectError(
        'conflict',
        `cannot restore the file ${path}: a directory is in the way`,
        { cause: e },
      );
    } else {
      throw e;
    }
  }
  // An existing file keeps its own mode through O_TRUNC: set it outright.
  chmodOrClose(fd, mode);
  return fd;
}

function chmodOrClose(fd: number, mode: number): void {
  try {
    fchmodSync(fd, mode);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function writeRestoredFile(path: string, bytes: Uint8Array, mode: number): void {
  const fd = openForRestore(path, mode);
  try {
    writeFileSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}
