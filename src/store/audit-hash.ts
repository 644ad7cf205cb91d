// The audit chain: each record's hash covers the previous record's hash and its own fields, so
// changing, removing or reordering any record breaks every hash after it.

import { createHash } from 'node:crypto';

export function auditHash(prevHash: string, r: { at: number; actor: string; action: string; target: string; details: Record<string, unknown> }): string {
  const body = JSON.stringify([prevHash, r.at, r.actor, r.action, r.target, sortKeys(r.details)]);
  return createHash('sha256').update(body).digest('hex');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The first record whose hash does not follow from its predecessor, or undefined when all do. */
export function verifyChain(records: ReadonlyArray<{ id: number; at: number; actor: string; action: string; target: string; details: Record<string, unknown>; prevHash: string; hash: string }>): { id: number; reason: string } | undefined {
  let prev = '';
  for (const r of records) {
    if (r.prevHash !== prev) return { id: r.id, reason: `record ${r.id} does not follow the record before it (its previous hash is not that record's hash)` };
    if (auditHash(r.prevHash, r) !== r.hash) return { id: r.id, reason: `record ${r.id} was changed after it was written (its hash does not match its content)` };
    prev = r.hash;
  }
  return undefined;
}
