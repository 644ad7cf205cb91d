// Workspaces: every stage works in its own copy of the project (tracked and untracked-not-ignored
// files), or of the workspace the stage it inherits from left behind, so the user's tree is never
// dirtied and parallel stages never trample each other. `--in-place` uses the project itself.

import { spawnSync } from 'node:child_process';
import { chmodSync, constants, copyFileSync, cpSync, existsSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { maybeInGitRepo } from '../plan/git-context.js';

/**
 * A snapshot with at most this many files is copied into each stage's workspace in-process; a larger
 * one by `cp -a` (one process, reflinks where the filesystem has them). Starting cp costs a few ms,
 * which for a small project is most of a short stage's overhead.
 */
const IN_PROCESS_COPY_MAX_FILES = 1000;

export interface WorkspacesOptions {
  /** The project directory (where the pipeline file is). */
  readonly project: string;
  /** Where runs keep their files: `<home>/runs/<run>/`. */
  readonly runDir: string;
  readonly inPlace: boolean;
  /** Workspaces of an earlier run, for stages carried over by `otto rerun`. */
  readonly reused?: ReadonlyMap<string, string>;
}

/** A directory name for a stage path: readable, unique, safe. */
export function stageSlug(path: string): string {
  const readable = path.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) >>> 0;
  return `${readable}-${h.toString(16)}`;
}

export class Workspaces {
  private snapshot: string | undefined;
  /** Files copied into the snapshot. */
  private snapshotFiles = 0;

  constructor(private readonly options: WorkspacesOptions) {}

  dirFor(stage: string): string {
    if (this.options.inPlace) return this.options.project;
    return this.options.reused?.get(stage) ?? join(this.options.runDir, 'ws', stageSlug(stage));
  }

  /** Prepares a stage's workspace (again, for a new attempt) and returns its path. */
  prepare(stage: string, from: string | null): string {
    if (this.options.inPlace) return this.options.project;
    const dir = join(this.options.runDir, 'ws', stageSlug(stage));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    const source = from !== null ? this.dirFor(from) : this.source();
    if (from !== null && this.options.reused?.has(from) && !existsSync(source)) {
      throw new Error(
        `stage '${stage}' starts from the workspace of stage '${from}', carried over from an earlier run, but ${source} is gone (Otto keeps the workspaces of the last OTTO_KEEP_WORKSPACES finished runs, 3 by default); rerun without --from-failed`,
      );
    }
    // The snapshot holds only what source() put there: directories, regular files and symlinks this
    // process created. Another stage's workspace can hold anything its steps made: cp -a copies it.
    if (from === null && this.snapshotFiles <= IN_PROCESS_COPY_MAX_FILES && copySnapshot(source, dir)) return dir;
    if (existsSync(source)) copyTree(source, dir);
    else mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The run's snapshot of the project, taken once, when the first stage needs it. */
  private source(): string {
    if (this.snapshot) return this.snapshot;
    const dir = join(this.options.runDir, 'source');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const rel of projectFiles(this.options.project)) {
      const from = join(this.options.project, rel);
      const to = join(dir, rel);
      mkdirSync(dirname(to), { recursive: true });
      try {
        cpSync(from, to, { verbatimSymlinks: true, preserveTimestamps: true });
        this.snapshotFiles++;
      } catch {
        // A tracked file deleted in the working tree: the snapshot holds the tree as it is.
      }
    }
    this.snapshot = dir;
    return dir;
  }
}

/**
 * The files a run copies: in a git repository, tracked files and untracked files that are not
 * ignored; elsewhere, every file except Otto's own directory and version-control metadata.
 */
export function projectFiles(project: string): string[] {
  const git = !maybeInGitRepo(project) ? undefined : spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: project, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (git?.status === 0) {
    return git.stdout.split('\0').filter((f) => f !== '' && !f.startsWith('.otto/') && existsSync(join(project, f)));
  }
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(project, rel))) {
      if (rel === '' && (name === '.otto' || name === '.git')) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(project, r), { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(r);
      else if (st) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/**
 * What `cp -a` does for a snapshot (directories, regular files, symlinks; one owner, no hard links):
 * the same tree with the same modes and timestamps, directories' set after their contents. False,
 * with nothing left at `to`, if it meets anything else or fails: cp -a is used then.
 */
function copySnapshot(from: string, to: string): boolean {
  try {
    copySnapshotDir(from, to);
    return true;
  } catch {
    rmSync(to, { recursive: true, force: true });
    return false;
  }
}

function copySnapshotDir(from: string, to: string): void {
  const st = lstatSync(from);
  if (!st.isDirectory()) throw new Error(`${from} is not a directory`);
  mkdirSync(to);
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const entry = lstatSync(src);
    if (entry.isDirectory()) copySnapshotDir(src, dst);
    else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
      lutimesSync(dst, entry.atimeMs / 1000, entry.mtimeMs / 1000);
    } else if (entry.isFile() && entry.nlink === 1) {
      // FICLONE: a reflink where the filesystem can, like cp's --reflink=auto; a copy elsewhere.
      copyFileSync(src, dst, constants.COPYFILE_FICLONE);
      chmodSync(dst, entry.mode & 0o7777);
      utimesSync(dst, entry.atimeMs / 1000, entry.mtimeMs / 1000);
    } else throw new Error(`${src}: not a plain file, directory or link`);
  }
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
}

/** Copies a directory tree with the system's cp (fast, keeps modes and links), else in-process. */
function copyTree(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', '--reflink=auto', `${from}/.`, to], { stdio: 'ignore' });
  if (r.status === 0) return;
  cpSync(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}
