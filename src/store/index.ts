// The store: interface and implementations.

export type { Store, CreateRunInput, LockHolder } from './store.js';
export * from './types.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { auditHash, verifyChain } from './audit-hash.js';
