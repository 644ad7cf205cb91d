// The object store: immutable blobs named by their content digest, and small mutable refs (names
// that point at a digest). Artifacts and caches are a manifest blob plus a ref; see tree.ts.
//
// The interface moves files between the agent's disk and the store in batches, so a remote store
// (S3) can upload and download in parallel and callers never assume a blob is a local file.

/** A local file to store. */
export interface FileToPut {
  readonly path: string;
}

export interface PutResult {
  readonly digest: string;
  /** Bytes stored (as read). */
  readonly size: number;
  /** False when the store already held the blob (nothing was written). */
  readonly written: boolean;
  /** For putFiles: the file's permission bits, from the same open as its bytes (saves a stat). */
  readonly mode?: number;
}

/** A blob to write into a local file. */
export interface FileToGet {
  readonly digest: string;
  /** Absolute path; its directory exists. A symbolic link already there is replaced, never followed. */
  readonly path: string;
  /** Permission bits (e.g. 0o755) the file ends up with, whatever the umask. */
  readonly mode: number;
  /** Size recorded in the manifest (a store may pick how to copy by it). */
  readonly size: number;
}

export interface ObjectStore {
  /** Where the store is, for messages ("/p/.otto/objects", "s3://bucket/prefix"). */
  readonly location: string;
  /** Stores files as blobs, each by its digest, skipping blobs the store already holds. In order. */
  putFiles(files: readonly FileToPut[], signal?: AbortSignal): Promise<PutResult[]>;
  /**
   * Writes blobs into local files, verifying each against its digest. A blob that does not verify is
   * removed from the store and reported as ObjectError 'corrupt-blob'; an absent one as 'missing-blob'.
   */
  getFiles(files: readonly FileToGet[], signal?: AbortSignal): Promise<void>;
  putBytes(bytes: Uint8Array): Promise<PutResult>;
  /** The blob's bytes (verified), or null when the store does not hold it. */
  getBytes(digest: string): Promise<Uint8Array | null>;
  has(digest: string): Promise<boolean>;
  /** The digest a ref points at, or null when there is no such ref. */
  readRef(name: string): Promise<string | null>;
  /** Points a ref at a digest, atomically: readers see the old value or the new, never a torn one. */
  writeRef(name: string, digest: string): Promise<void>;
  /** Names of the refs under `prefix` (a ref name ending in '/'), sorted. */
  listRefs(prefix: string): Promise<string[]>;
}

const SEGMENT = /^[A-Za-z0-9_.%-]+$/;

/**
 * Checks a ref name: '/'-separated segments of [A-Za-z0-9_.%-], none '.' or '..'. Build names with
 * refName(), which encodes user-chosen parts (artifact and cache names, project names).
 */
export function checkRefName(name: string, prefix = false): string {
  const body = prefix && name.endsWith('/') ? name.slice(0, -1) : name;
  const ok = body.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new Error(`not a valid ref name: ${JSON.stringify(name)}`);
  return name;
}

/** Encodes one part of a ref name: [A-Za-z0-9_-] and inner dots stay, the rest is %XX (UTF-8). */
export function refSegment(part: string): string {
  let out = '';
  for (const byte of Buffer.from(part, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // '.', '..' and hidden names must not become path tricks or dot-files in a local store.
  if (out.startsWith('.')) out = `%2E${out.slice(1)}`;
  return out === '' ? '%' : out;
}

export function decodeRefSegment(segment: string): string {
  if (segment === '%') return '';
  return decodeURIComponent(segment);
}

/** A ref name from parts, each encoded with refSegment. */
export function refName(...parts: readonly string[]): string {
  return parts.map(refSegment).join('/');
}
