// Fetches a tarball library (http, https or file URL) and unpacks it safely into a cache staging directory.

import { readFileSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { list, extract, type ReadEntry } from 'tar';
import { LibraryError } from './library-error.js';
import { fetchFailure, httpFetch } from '../util/http-fetch.js';

/** Downloads may be slow, but a hung server must not hang `otto lock` forever. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

export async function downloadTarball(url: string): Promise<Buffer> {
  if (url.startsWith('file://')) {
    try {
      return readFileSync(fileURLToPath(url));
    } catch (e) {
      throw new LibraryError(
        `cannot read '${url}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        'check the path in the use entry',
      );
    }
  }
  let res: Response;
  try {
    res = await httpFetch(url, {
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      redirect: 'follow',
    });
  } catch (e) {
    throw new LibraryError(
      `cannot download '${url}': ${networkReason(e)}`,
      'check the URL and the network, then run `otto lock` again',
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new LibraryError(
      `cannot download '${url}': HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      'check the URL in the use entry',
    );
  }
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw new LibraryError(
      `cannot download '${url}': ${networkReason(e)}`,
      'check the network, then run `otto lock` again',
    );
  }
}

function networkReason(e: unknown): string {
  if ((e as Error).name === 'TimeoutError') return `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`;
  return fetchFailure(e);
}

/**
 * Unpacks `bytes` (tar, optionally gzip-compressed) into `dest`. The whole archive is
 * listed first and refused if any entry is absolute, climbs out with `..`, is a link that
 * points outside the archive, or is a device or fifo; tar@7 alone would only skip or
 * relativize such entries with a warning, and a half-unpacked library is worse than none.
 */
export function unpackTarball(url: string, bytes: Buffer, archivePath: string, dest: string): void {
  writeFileSync(archivePath, bytes);
  const problems: string[] = [];
  let count = 0;
  const bad = (m: string): void => void problems.push(m);
  try {
    list({
      file: archivePath,
      sync: true,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        count++;
        const why = entryProblem(entry);
        if (why) bad(`'${entry.path}' ${why}`);
      },
    });
  } catch (e) {
    throw new LibraryError(
      `'${url}' is not a valid tar archive: ${(e as Error).message}`,
      'the URL must name a .tar or .tar.gz file',
    );
  }
  if (count === 0)
    throw new LibraryError(
      `'${url}' is an empty archive`,
      'the archive must hold a step library or a blueprint',
    );
  if (problems.length > 0) {
    throw new LibraryError(
      `'${url}' is refused: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
      'an archive must only hold files, directories and links inside itself; nothing was written',
    );
  }
  try {
    extract({
      file: archivePath,
      cwd: dest,
      sync: true,
      strict: true,
      preserveOwner: false,
      filter: (_path, entry) => entryProblem(entry as ReadEntry) === undefined,
    });
  } catch (e) {
    throw new LibraryError(
      `cannot unpack '${url}': ${(e as Error).message}`,
      'the archive may be damaged; nothing was written',
    );
  }
}

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

function entryProblem(entry: ReadEntry): string | undefined {
  if (!ALLOWED.has(entry.type)) return `is a ${entry.type}, not a file, directory or link`;
  const p = entry.path;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is an absolute path';
  if (p.split('/').includes('..')) return "climbs out of the archive with '..'";
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const target = entry.linkpath ?? '';
    if (target.startsWith('/')) return `links to the absolute path '${target}'`;
    // A symlink's target is relative to its own directory; a hard link's to the archive root.
    const base = entry.type === 'SymbolicLink' ? posix.dirname(p) : '.';
    const resolved = posix.normalize(posix.join(base, target));
    if (resolved === '..' || resolved.startsWith('../'))
      return `links outside the archive ('${target}')`;
  }
  return undefined;
}
