// Operational errors of artifacts and caches: a stable code for tests and callers, and a message
// that names the path, the pattern or the artifact, written for the stage log.

export const OBJECT_ERROR_CODES = [
  /** A pattern, path or symbolic link that leaves the workspace. */
  'outside-workspace',
  /** A pattern that is not a relative glob (empty, or with a '..' segment). */
  'bad-pattern',
  /** Archive patterns that match no file. */
  'no-match',
  /** FETCH of an artifact the run has not stored. */
  'not-found',
  /** An artifact or cache name that cannot be stored (empty). */
  'bad-name',
  /** A blob whose bytes do not hash to its digest (a crash, a disk error): it is removed. */
  'corrupt-blob',
  /** A manifest names a blob the store does not hold. */
  'missing-blob',
  /** A manifest that is not an `otto.tree/v1` document, or names unsafe paths. */
  'bad-manifest',
  /** Restoring would replace a file where a directory is needed, or the reverse. */
  'conflict',
] as const;

export type ObjectErrorCode = (typeof OBJECT_ERROR_CODES)[number];

export class ObjectError extends Error {
  override readonly name = 'ObjectError';
  constructor(
    readonly code: ObjectErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of anything thrown, for the stage log. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
