// Bearer tokens with roles: viewer < operator (trigger, approve, cancel) < admin (projects,
// secrets, tokens); agents have their own role. Tokens are stored as sha256 hashes only.

import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import type { Role, TokenRecord } from '../store/types.js';
import { ApiError } from './errors.js';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin', 'agent'];

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3, agent: 0 };

export function newApiToken(): { token: string; hash: string } {
  const token = `otto_${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashApiToken(token) };
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether a token of `have` may do what needs `need`. */
export function allows(have: Role, need: Role): boolean {
  if (need === 'agent') return have === 'agent' || have === 'admin';
  if (have === 'agent') return false;
  return RANK[have] >= RANK[need];
}

export interface Principal {
  readonly token: TokenRecord;
  /** How the principal is named in records: the token's name. */
  readonly actor: string;
}

const cache = new Map<string, { at: number; token: TokenRecord | undefined }>();

/** The caller, from `Authorization: Bearer …`; 401 without a valid token, 403 for a weaker role. */
export async function authorize(store: Store, request: FastifyRequest, need: Role): Promise<Principal> {
  const header = request.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new ApiError('unauthorized', 'this route needs a token: send Authorization: Bearer <token> (create one with otto token create)');
  const hash = hashApiToken(m[1] as string);
  // A short cache: an agent's event stream would otherwise look its token up on every request.
  const hit = cache.get(hash);
  let token: TokenRecord | undefined;
  if (hit && Date.now() - hit.at < 2000) token = hit.token;
  else {
    token = await store.findToken(hash);
    cache.set(hash, { at: Date.now(), token });
    if (cache.size > 1000) cache.clear();
  }
  if (!token || token.revokedAt !== null) throw new ApiError('unauthorized', 'the token is not valid (unknown or revoked)');
  if (!allows(token.role, need)) throw new ApiError('forbidden', `this needs the ${need} role; the token '${token.name}' has ${token.role}`);
  return { token, actor: token.name };
}
