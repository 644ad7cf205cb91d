// Fetches a git library (`git+URL#REF:sub/path`) and exports that sub-directory at one commit.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { LibraryError } from './library-error.js';

export interface GitSource {
  /** What git fetches from: the URL without `git+` and without the fragment. */
  readonly remote: string;
  /** A branch, tag or commit; `HEAD` when the URL has no fragment. */
  readonly ref: string;
  /** The library's directory inside the repository, '' for its root. */
  readonly sub: string;
}

export function isGitUse(url: string): boolean {
  return url.startsWith('git+');
}

export function parseGitUse(url: string): GitSource {
  const hash = url.indexOf('#');
  const remote = (hash < 0 ? url : url.slice(0, hash)).slice('git+'.length);
  const frag = hash < 0 ? '' : url.slice(hash + 1);
  const colon = frag.indexOf(':'); // git refs cannot hold ':'
  const ref = (colon < 0 ? frag : frag.slice(0, colon)) || 'HEAD';
  const rawSub = colon < 0 ? '' : frag.slice(colon + 1);
  const sub = rawSub === '' ? '' : posix.normalize(rawSub).replace(/\/+$/, '');
  if (sub.startsWith('/') || sub === '..' || sub.startsWith('../')) {
    throw new LibraryError(
      `'${url}': the path after ':' must stay inside the repository`,
      'write git+URL#REF:dir/inside/the/repo',
    );
  }
  return { remote, ref, sub: sub === '.' ? '' : sub };
}

interface GitResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Asynchronous so that a server in the same process (tests) can still answer. */
function git(args: readonly string[], input?: Buffer): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Never prompt for credentials: a private URL must fail, not hang.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new LibraryError(`cannot run git: ${e.message}`, 'install git to use git+ libraries')),
    );
    child.on('close', (code) =>
      resolvePromise({
        code: code ?? 1,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8').trim(),
      }),
    );
    child.stdin.on('error', () => {}); // git may exit before reading everything; its exit code tells
    child.stdin.end(input);
  });
}

/**
 * Fetches `want` (the pinned commit, or the URL's ref) into a temporary bare repository,
 * writes the sub-directory's files into `dest`, and returns the commit.
 */
export async function exportGit(
  url: string,
  src: GitSource,
  want: string,
  dest: string,
): Promise<string> {
  const repo = mkdtempSync(join(tmpdir(), 'otto-git-'));
  try {
    const init = await git(['init', '--bare', '-q', repo]);
    if (init.code !== 0)
      throw new LibraryError(
        `cannot create a git repository in ${repo}: ${init.stderr}`,
        'check the temporary directory',
      );
    const commit = await fetchCommit(url, src, want, repo);
    const treeish = src.sub ? `${commit}:${src.sub}` : `${commit}^{tree}`;
    const type = await git(['-C', repo, 'cat-file', '-t', treeish]);
    const kind = type.stdout.toString('utf8').trim();
    if (type.code !== 0)
      throw new LibraryError(
        `'${url}': '${src.sub}' does not exist at ${src.ref} (commit ${commit})`,
        "check the path after ':' in the use entry",
      );
    if (kind !== 'tree')
      throw new LibraryError(
        `'${url}': '${src.sub}' is a file, not a directory`,
        'point at the directory that holds the blueprint or the step folders',
      );
    await writeTree(url, repo, treeish, dest);
    return commit;
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

async function fetchCommit(
  url: string,
  src: GitSource,
  want: string,
  repo: string,
): Promise<string> {
  // A shallow fetch of a branch, tag or full commit id is enough almost always.
  const shallow = await git([
    '-C',
    repo,
    'fetch',
    '-q',
    '--depth=1',
    '--no-tags',
    src.remote,
    want,
  ]);
  if (shallow.code === 0) {
    const head = await git(['-C', repo, 'rev-parse', '--verify', '-q', 'FETCH_HEAD^{commit}']);
    if (head.code === 0) return head.stdout.toString('utf8').trim();
  }
  // An abbreviated commit id, or a server that refuses to serve a commit by id: fetch everything.
  const full = await git([
    '-C',
    repo,
    'fetch',
    '-q',
    '--no-tags',
    src.remote,
    '+refs/heads/*:refs/heads/*',
    '+refs/tags/*:refs/tags/*',
  ]);
  if (full.code !== 0) {
    throw new LibraryError(
      `cannot fetch '${url}': ${lastLine(full.stderr || shallow.stderr)}`,
      'check the URL and the network, then run `otto lock` again',
    );
  }
  const rev = await git(['-C', repo, 'rev-parse', '--verify', '-q', `${want}^{commit}`]);
  if (rev.code !== 0)
    throw new LibraryError(
      `'${url}': no branch, tag or commit '${want}' in ${src.remote}`,
      'check the ref after # in the use entry',
    );
  return rev.stdout.toString('utf8').trim();
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? 'git failed').replace(/^fatal: /, '');
}

/** Writes the files of a tree with `ls-tree` + `cat-file --batch`: no checkout, no .gitattributes filters. */
async function writeTree(url: string, repo: string, treeish: string, dest: string): Promise<void> {
  const ls = await git(['-C', repo, 'ls-tree', '-r', '-z', treeish]);
  if (ls.code !== 0)
    throw new LibraryError(
      `cannot list '${url}': ${lastLine(ls.stderr)}`,
      'the repository may be damaged',
    );
  const items: Array<{ mode: string; object: string; path: string }> = [];
  for (const rec of ls.stdout.toString('utf8').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode = '', , object = ''] = rec.slice(0, tab).split(' ');
    items.push({ mode, object, path: rec.slice(tab + 1) });
  }
  if (items.length === 0)
    throw new LibraryError(
      `'${url}' names an empty directory`,
      'the directory must hold a step library or a blueprint',
    );
  const submodule = items.find((i) => i.mode === '160000');
  if (submodule)
    throw new LibraryError(
      `'${url}': '${submodule.path}' is a git submodule, which libraries cannot hold`,
      'vendor the files instead',
    );
  const batch = await git(
    ['-C', repo, 'cat-file', '--batch'],
    Buffer.from(items.map((i) => i.object).join('\n') + '\n'),
  );
  if (batch.code !== 0)
    throw new LibraryError(
      `cannot read '${url}': ${lastLine(batch.stderr)}`,
      'the repository may be damaged',
    );
  let at = 0;
  for (const item of items) {
    // Each answer is "<object> <type> <size>\n<bytes>\n".
    const nl = batch.stdout.indexOf(0x0a, at);
    const size = Number(batch.stdout.subarray(at, nl).toString('utf8').split(' ')[2]);
    const bytes = batch.stdout.subarray(nl + 1, nl + 1 + size);
    at = nl + 1 + size + 1;
    const target = join(dest, item.path);
    mkdirSync(dirname(target), { recursive: true });
    if (item.mode === '120000') {
      const link = bytes.toString('utf8');
      const resolved = posix.normalize(posix.join(posix.dirname(item.path), link));
      if (link.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
        throw new LibraryError(
          `'${url}' is refused: '${item.path}' links outside the library ('${link}')`,
          'a library must only hold links inside itself',
        );
      }
      symlinkSync(link, target);
    } else {
      writeFileSync(target, bytes, { mode: item.mode === '100755' ? 0o755 : 0o644 });
    }
  }
}
