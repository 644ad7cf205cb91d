// The signed-in session: the token (kept in sessionStorage, so it lives as long as the browser tab
// and is never written to disk by the UI), who it belongs to, and what its role may do.

import { createContext, type ReactNode, useContext, useMemo } from 'react';
import { Api, ApiError } from './api.js';
import type { Me, Role } from './types.js';

const KEY = 'otto.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // Storage disabled: the session lasts until the page is reloaded.
  }
}

/** Checks a token with GET /me and says, in words, why it cannot sign in. */
export async function checkToken(token: string): Promise<{ me: Me } | { error: string }> {
  const trimmed = token.trim();
  if (!trimmed) return { error: 'Paste a token first.' };
  try {
    const me = await new Api(trimmed).me();
    if (me.role === 'agent')
      return {
        error:
          'This is an agent token: agents cannot use the web UI. Sign in with a viewer, operator or admin token.',
      };
    return { me };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401)
      return {
        error:
          'This token is not valid: it is unknown or has been revoked. Create one with `otto token create --role viewer`.',
      };
    if (e instanceof ApiError && e.status === 403)
      return {
        error:
          'This token lacks a role that may use the web UI (it needs viewer, operator or admin). Agent tokens cannot sign in.',
      };
    if (e instanceof ApiError) return { error: `The server refused: ${e.message}` };
    return { error: 'The server cannot be reached. Is `otto serve` running?' };
  }
}

const RANK: Record<Role, number> = { agent: 0, viewer: 1, operator: 2, admin: 3 };

export interface Session {
  readonly api: Api;
  readonly me: Me;
  /** Whether the signed-in role may do what needs `role`. */
  can(role: Role): boolean;
  signOut(reason?: string): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({
  token,
  me,
  signOut,
  children,
}: {
  token: string;
  me: Me;
  signOut: (reason?: string) => void;
  children: ReactNode;
}) {
  const session = useMemo<Session>(() => {
    const api = new Api(token, () =>
      signOut(
        'The server no longer accepts this token (it was revoked or the server was reset). Sign in again.',
      ),
    );
    return { api, me, can: (role) => RANK[me.role] >= RANK[role], signOut };
  }, [token, me, signOut]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}
