// Sign-in: a token from `otto token create`, checked against GET /me before it is kept.

import { type FormEvent, useState } from 'react';
import { useTitle } from '../lib/router.js';
import { checkToken } from '../lib/session.js';
import type { Me } from '../lib/types.js';

export function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (token: string, me: Me) => void;
  notice?: string | undefined;
}) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    const result = await checkToken(token);
    setBusy(false);
    if ('error' in result) setError(result.error);
    else onSignedIn(token.trim(), result.me);
  };

  return (
    <main id="main" className="sign-in">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title" noValidate>
        <h1 id="sign-in-title">Sign in to Otto</h1>
        {notice && !error ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? 'token-error token-help' : 'token-help'}
          aria-invalid={error ? true : undefined}
          autoFocus
          required
        />
        <p id="token-help" className="help">
          A token from <code>otto token create --role viewer</code> (or operator, admin). It is kept
          in this browser tab only, until you sign out or close it.
        </p>
        {error ? (
          <p id="token-error" className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
