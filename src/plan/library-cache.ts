// The content-addressed cache of fetched libraries: one verified directory per sha256, filled atomically.

import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Written last into every cache entry; an entry without it is incomplete. */
export const VERIFIED_FILE = '.otto-verified';

export interface VerifiedRecord {
  /** The pin: sha256 of the tarball bytes, or the tree digest of a git export. */
  readonly sha256: string;
  /** The tree digest of content/ when it was filled (see treeDigest). */
  readonly tree: string;
  readonly kind: 'tarball' | 'git';
}

export function libraryCacheRoot(): string {
  if (process.env.OTTO_LIBRARY_CACHE) return process.env.OTTO_LIBRARY_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'otto', 'libraries');
}

export function libraryCacheDir(sha256: string): string {
  return join(libraryCacheRoot(), sha256);
}

/**
 * The tree digest of a directory, as lowercase hex. Definition:
 *
 *   sha256( concat over every non-directory entry below `dir`, in ascending
 *           byte order of its UTF-8 relative path with '/' separators, of
 *           KIND ' ' HEX ' ' PATH '\0' )
 *
 * KIND is `f` for a regular file, `x` for a regular file whose owner-execute
 * bit is set, `l` for a symbolic link; HEX is the lowercase sha256 of the
 * file's bytes, or of a link's target text. Directories count only through
 * what they hold (an empty directory adds nothing, as in git); owners,
 * times and other mode bits do not count. Other file types are refused.
 * KIND and HEX have fixed lengths and NUL cannot occur in a path, so the
 * encoding is unambiguous.
 */
export function treeDigest(dir: string): string {
  const entries: Array<{ path: string; line: Buffer }> = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs)) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a);
      if (st.isDirectory()) walk(a, r);
      else if (st.isFile())
        entries.push({
          path: r,
          line: line((st.mode & 0o100) !== 0 ? 'x' : 'f', sha256(readFileSync(a)), r),
        });
      else if (st.isSymbolicLink())
        entries.push({ path: r, line: line('l', sha256(Buffer.from(readlinkSync(a), 'utf8')), r) });
      else throw new Error(`'${r}' is neither a file, a directory nor a symbolic link`);
    }
  };
  walk(dir, '');
  entries.sort((p, q) => Buffer.compare(Buffer.from(p.path, 'utf8'), Buffer.from(q.path, 'utf8')));
  const h = createHash('sha256');
  for (const e of entries) h.update(e.line);
  return h.digest('hex');
}

function line(kind: string, hex: string, path: string): Buffer {
  return Buffer.from(`${kind} ${hex} ${path}\0`, 'utf8');
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type CacheState =
  | { readonly ok: true; readonly content: string }
  | {
      readonly ok: false;
      readonly reason: 'missing' | 'incomplete' | 'tampered';
      readonly detail: string;
    };

/** Whether the entry for a pin is present, complete, and unchanged since it was filled. Never uses the network. */
export function verifyCacheEntry(pin: string): CacheState {
  const dir = libraryCacheDir(pin);
  if (!existsSync(dir)) return { ok: false, reason: 'missing', detail: `${dir} does not exist` };
  let record: VerifiedRecord;
  try {
    record = JSON.parse(readFileSync(join(dir, VERIFIED_FILE), 'utf8')) as VerifiedRecord;
  } catch {
    return { ok: false, reason: 'incomplete', detail: `${dir} has no readable ${VERIFIED_FILE}` };
  }
  if (record.sha256 !== pin)
    return {
      ok: false,
      reason: 'tampered',
      detail: `${join(dir, VERIFIED_FILE)} records sha256 ${String(record.sha256)}`,
    };
  const content = join(dir, 'content');
  let tree: string;
  try {
    tree = treeDigest(content);
  } catch (e) {
    return { ok: false, reason: 'tampered', detail: `${content}: ${(e as Error).message}` };
  }
  if (tree !== record.tree)
    return {
      ok: false,
      reason: 'tampered',
      detail: `the files in ${content} changed after they were fetched`,
    };
  return { ok: true, content };
}

/** A private directory beside the entries, so that the final rename stays on one filesystem. */
export interface Staging {
  readonly dir: string;
  readonly content: string;
}

/** A staging directory this old was left by a crash (a fetch takes minutes at most). */
const STALE_STAGING_MS = 24 * 60 * 60 * 1000;

export function createStaging(): Staging {
  const root = libraryCacheRoot();
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    if (!name.startsWith('.tmp-')) continue;
    try {
      if (Date.now() - lstatSync(join(root, name)).mtimeMs > STALE_STAGING_MS)
        rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // Another otto removed it first.
    }
  }
  const dir = join(root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(join(dir, 'content'), { recursive: true });
  return { dir, content: join(dir, 'content') };
}

export function discardStaging(staging: Staging): void {
  rmSync(staging.dir, { recursive: true, force: true });
}

/**
 * Seals a filled staging directory as the entry for `pin` and returns its content path.
 * The verified record is written before the one rename that makes the entry visible, so a
 * crash leaves either no entry or a complete one (plus a stray .tmp-* directory).
 */
export function commitStaging(staging: Staging, pin: string, kind: 'tarball' | 'git'): string {
  const tree = treeDigest(staging.content);
  const record: VerifiedRecord = { sha256: pin, tree, kind };
  writeFileSync(join(staging.dir, VERIFIED_FILE), `${JSON.stringify(record, null, 2)}\n`);
  const target = libraryCacheDir(pin);
  if (existsSync(target)) {
    if (verifyCacheEntry(pin).ok) {
      // Another otto filled it meanwhile, or it was there all along: the same bytes by definition.
      discardStaging(staging);
      return join(target, 'content');
    }
    const trash = `${staging.dir}-old`;
    renameSync(target, trash);
    rmSync(trash, { recursive: true, force: true });
  }
  try {
    renameSync(staging.dir, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !verifyCacheEntry(pin).ok) throw e;
    discardStaging(staging); // lost a race to an identical entry
  }
  return join(target, 'content');
}
