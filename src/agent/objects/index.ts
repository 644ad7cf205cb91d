// Artifacts and caches: the object store (interface and local directory) and the ObjectOps on it.

export { createObjectOps, localStores, type ObjectsSpec, type StoreOpener } from './ops.js';
export {
  checkRefName,
  decodeRefSegment,
  refName,
  refSegment,
  type FileToGet,
  type FileToPut,
  type ObjectStore,
  type PutResult,
} from './store.js';
export { LocalObjectStore, type LocalObjectStoreOptions } from './local-store.js';
export { LARGE_FILE } from './blob-dir.js';
export { BlobWorkers, WorkerPoolError } from './blob-workers.js';
export { ObjectError, OBJECT_ERROR_CODES, type ObjectErrorCode } from './errors.js';
export { digestOf, isDigest } from './digest.js';
export { TREE_FORMAT, loadTree, type TreeEntry, type TreeManifest } from './tree.js';
export { artifactRef } from './artifacts.js';
export { cacheKey, cacheRef, CACHE_KEY_FORMAT } from './caches.js';
export { formatSize } from './format.js';
