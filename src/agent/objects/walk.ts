// Collecting the files of an artifact or a cache from a workspace: by glob patterns or by paths.
// Symbolic links are never followed: each is recorded as a link, and refused when it leads outside
// the workspace. Otto's own directories inside the workspace (an in-place run's .otto) are skipped.

import {
  lstatSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { ObjectError, errnoCode } from './errors.js';
import { advance, type GlobState, type Pattern } from './glob.js';
import { isInside } from './paths.js';
import { Slicer } from './slices.js';

export type WalkEntry =
  | { readonly type: 'file'; readonly rel: string; readonly abs: string }
  | { readonly type: 'link'; readonly rel: string; readonly abs: string; readonly target: string }
  | { readonly type: 'dir'; readonly rel: string; readonly abs: string; readonly mode: number };

export interface WalkOptions {
  /** The workspace's real path: nothing outside it is collected. */
  readonly root: string;
  /** Real paths of directories never collected (the object store, when it lies in the workspace). */
  readonly exclude: ReadonlySet<string>;
  readonly signal?: AbortSignal;
}

export class Walker {
  readonly entries: WalkEntry[] = [];
  private readonly slicer: Slicer;
  private readonly seen = new Set<string>();

  constructor(private readonly options: WalkOptions) {
    this.slicer = new Slicer(options.signal);
  }

  /** Everything under `dir` (real path) whose path relative to `dir` matches a pattern. */
  async glob(dir: string, patterns: readonly Pattern[]): Promise<void> {
    await this.globDir(
      dir,
      '',
      patterns.map((pattern) => ({ pattern, index: 0 })),
    );
  }

  /** The file, link or directory (with everything below) at `abs`, recorded as `rel`. */
  async add(abs: string, rel: string, st?: Stats): Promise<void> {
    await this.slicer.step();
    if (this.options.exclude.has(abs) || this.seen.has(abs)) return;
    const stat = st ?? lstatSync(abs);
    if (stat.isSymbolicLink()) return this.addLink(abs, rel);
    if (stat.isDirectory()) return this.addDir(abs, rel, stat);
    if (stat.isFile()) {
      this.seen.add(abs);
      this.entries.push({ type: 'file', rel, abs });
    }
    // Sockets, fifos and devices are not files an artifact can carry.
  }

  private async globDir(dir: string, rel: string, states: readonly GlobState[]): Promise<void> {
    for (const d of readDir(dir)) {
      await this.slicer.step();
      const abs = childPath(dir, d.name);
      if (this.options.exclude.has(abs)) continue;
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      const { matched, next } = advance(states, d.name);
      if (matched) await this.add(abs, childRel);
      else if (next.length > 0 && d.isDirectory()) await this.globDir(abs, childRel, next);
    }
  }

  private async addDir(abs: string, rel: string, stat: Stats): Promise<void> {
    this.seen.add(abs);
    const children = readDir(abs);
    if (children.length === 0) {
      this.entries.push({ type: 'dir', rel, abs, mode: stat.mode & 0o7777 });
      return;
    }
    for (const d of children) {
      const child = childPath(abs, d.name);
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      // Plain files are the bulk: the directory entry says what they are, and the store reads their
      // mode from the descriptor it reads them through, so they cost no stat here.
      if (d.isFile()) {
        await this.slicer.step();
        if (this.options.exclude.has(child) || this.seen.has(child)) continue;
        this.seen.add(child);
        this.entries.push({ type: 'file', rel: childRel, abs: child });
      } else {
        await this.add(child, childRel);
      }
    }
  }

  private addLink(abs: string, rel: string): void {
    this.seen.add(abs);
    const { root } = this.options;
    const target = readlinkSync(abs);
    const lexical = resolve(dirname(abs), target);
    let real: string | null = null;
    try {
      real = realpathSync(abs);
    } catch (e) {
      // A dangling link (or a loop) is judged by where it points, not by what is there.
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ELOOP') throw e;
    }
    if (!isInside(root, lexical) || (real !== null && !isInside(root, real))) {
      const shown = relative(root, abs);
      throw new ObjectError(
        'outside-workspace',
        `'${shown}' is a symbolic link to '${target}', outside the workspace; Otto stores links only within it`,
      );
    }
    // An absolute link into the workspace would point at this workspace after a restore elsewhere.
    const stored = isAbsolute(target) ? relative(dirname(abs), lexical) || '.' : target;
    this.entries.push({ type: 'link', rel, abs, target: stored });
  }
}

/** path.join without its normalising (these paths are already clean): measurably cheaper per file. */
function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function readDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch (e) {
    // Removed while walking, or a file where a directory was: nothing to collect.
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}
