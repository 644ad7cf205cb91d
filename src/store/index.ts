// The store: interface and implementations (PostgreSQL is imported from ./postgres/postgres-store.js
// where needed, so that a plain `otto run` never loads the pg driver).

export type { Store, CreateRunInput, LockHolder, ServerLock } from './store.js';
export * from './types.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { auditHash, verifyChain } from './audit-hash.js';
export { deployedNow, WHOLE_HISTORY } from './deployments.js';
