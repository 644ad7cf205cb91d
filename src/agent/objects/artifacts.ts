// Artifacts: STORE collects files by glob into a tree under a ref scoped to the run
// (`runs/<run>/artifacts/<name>`); FETCH restores one into a directory of a later stage's workspace.

import { join } from 'node:path';
import type { ArtifactRecord, FetchOp, StoreOp } from '../object-ops.js';
import { decodeRefSegment, refName, type ObjectStore } from './store.js';
import { ObjectError } from './errors.js';
import { filesAndSize } from './format.js';
import { archiveBase, parsePattern } from './glob.js';
import { relativeSegments, resolveExisting, showRel } from './paths.js';
import type { OpScope } from './scope.js';
import { loadTree, restoreTree, saveTree } from './tree.js';
import { Walker } from './walk.js';

export function artifactRef(runId: string, name: string): string {
  return refName('runs', runId, 'artifacts', name);
}

export async function storeArtifact(
  store: ObjectStore,
  op: StoreOp,
  scope: OpScope,
): Promise<ArtifactRecord> {
  const name = checkName(op.artifact);
  if (op.patterns.length === 0)
    throw new ObjectError('bad-pattern', `archive '${name}' has no patterns`);
  const patterns = op.patterns.map(parsePattern);
  const cwd = resolveExisting(scope.root, op.cwd, 'working directory');
  if (cwd === null) {
    throw new ObjectError(
      'no-match',
      `archive '${name}': the directory '${op.cwd}' does not exist in the workspace`,
    );
  }
  const walker = new Walker({ root: scope.root, exclude: scope.exclude, signal: scope.signal });
  await walker.glob(cwd, patterns);
  if (walker.entries.length === 0) {
    const where = relativeSegments(op.cwd, 'working directory').length > 0 ? ` in '${op.cwd}'` : '';
    throw new ObjectError(
      'no-match',
      `archive '${name}': no files match ${op.patterns.map((p) => `'${p}'`).join(', ')}${where}`,
    );
  }
  const base = archiveBase(patterns);
  const prefix = base.length > 0 ? `${base.join('/')}/` : '';
  const items = walker.entries.map((entry) => ({
    entry,
    path:
      prefix !== '' && entry.rel.startsWith(prefix) ? entry.rel.slice(prefix.length) : entry.rel,
  }));
  const saved = await saveTree(store, items, scope.signal);
  await store.writeRef(artifactRef(scope.runId, name), saved.digest);
  const from = prefix !== '' ? ` from ${prefix}` : '';
  scope.log.push(`artifact ${name}: stored ${filesAndSize(saved.files, saved.size)}${from}`);
  return { name, digest: saved.digest, size: saved.size, files: saved.files };
}

export async function fetchArtifact(
  store: ObjectStore,
  op: FetchOp,
  scope: OpScope,
): Promise<void> {
  const name = checkName(op.artifact);
  // Refuse a bad `into` before anything is read.
  const into = relativeSegments(op.into, "unarchive 'into'");
  let digest: string | null = null;
  for (const run of scope.artifactRuns) {
    digest = await store.readRef(artifactRef(run, name));
    if (digest !== null) break;
  }
  if (digest === null) throw await notFound(store, scope.runId, name);
  const manifest = await loadTree(store, digest);
  if (manifest === null) {
    throw new ObjectError(
      'missing-blob',
      `artifact '${name}' is recorded, but its manifest ${digest} is missing from ${store.location}`,
    );
  }
  const dest = resolveInto(scope.root, into);
  await restoreTree(store, manifest, scope.root, dest, scope.signal);
  scope.log.push(
    `artifact ${name}: fetched ${filesAndSize(manifest.files, manifest.size)} into ${showRel(into)}`,
  );
}

/** `into` inside the workspace; a symbolic link on the way is checked when the directories are made. */
function resolveInto(root: string, into: readonly string[]): string {
  return join(root, ...into);
}

async function notFound(store: ObjectStore, runId: string, name: string): Promise<ObjectError> {
  const prefix = `${refName('runs', runId, 'artifacts')}/`;
  const names = (await store.listRefs(prefix)).map((r) => decodeRefSegment(r.slice(prefix.length)));
  const available =
    names.length === 0
      ? 'no artifacts have been stored in this run yet'
      : `this run has ${names.map((n) => `'${n}'`).join(', ')}`;
  return new ObjectError(
    'not-found',
    `artifact '${name}' was not stored in this run (${available}); a stage sees the artifacts of the stages it runs after`,
  );
}

function checkName(name: string): string {
  if (name === '') throw new ObjectError('bad-name', 'an artifact needs a name');
  return name;
}
