// The application shell: sign-in gate, navigation, theme, and the page for the current URL.

import { useCallback, useEffect, useState } from 'react';
import { Link, match, navigate, useLocation } from './lib/router.js';
import { checkToken, SessionProvider, storedToken, storeToken, useSession } from './lib/session.js';
import type { Me } from './lib/types.js';
import { AgentsPage } from './pages/agents.js';
import { AuditPage } from './pages/audit.js';
import { EnvironmentsPage } from './pages/environments.js';
import { ExplainPage } from './pages/explain.js';
import { NotFound } from './pages/not-found.js';
import { ProjectPage } from './pages/project.js';
import { ProjectsPage } from './pages/projects.js';
import { RunPage } from './pages/run.js';
import { SignIn } from './pages/sign-in.js';

type Theme = 'auto' | 'light' | 'dark';

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(
    () => (localStorage.getItem('otto.theme') as Theme | null) ?? 'auto',
  );
  useEffect(() => {
    if (theme === 'auto') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', theme);
    try {
      localStorage.setItem('otto.theme', theme);
    } catch {
      // No storage: the choice lasts for this page.
    }
  }, [theme]);
  return [theme, setTheme];
}

function Page() {
  const { path } = useLocation();
  const { can } = useSession();
  let m: Record<string, string> | null;
  if (path === '/' || path === '/projects') return <ProjectsPage />;
  if ((m = match('/projects/:name/explain', path)))
    return <ExplainPage project={m.name as string} />;
  if ((m = match('/projects/:name', path))) return <ProjectPage name={m.name as string} />;
  if ((m = match('/runs/:id/stages/*', path)))
    return <RunPage id={m.id as string} stage={m['*'] as string} />;
  if ((m = match('/runs/:id', path))) return <RunPage id={m.id as string} stage={null} />;
  if (path === '/environments') return <EnvironmentsPage />;
  if (path === '/agents') return <AgentsPage />;
  if (path === '/audit')
    return can('admin') ? <AuditPage /> : <NotFound message="The audit log is for admins." />;
  return <NotFound />;
}

function Shell({ theme, setTheme }: { theme: Theme; setTheme: (t: Theme) => void }) {
  const { me, can, signOut } = useSession();
  const { path } = useLocation();
  const section =
    path === '/' || path.startsWith('/projects') || path.startsWith('/runs')
      ? 'projects'
      : path.slice(1).split('/')[0];
  const nav = [
    { to: '/', label: 'Projects', key: 'projects' },
    { to: '/environments', label: 'Environments', key: 'environments' },
    { to: '/agents', label: 'Agents', key: 'agents' },
    ...(can('admin') ? [{ to: '/audit', label: 'Audit log', key: 'audit' }] : []),
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand" aria-label="Otto, home">
          <svg width="20" height="20" viewBox="0 0 16 16" aria-hidden="true">
            <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="2.5" />
          </svg>
          Otto
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.key}>
                <Link to={n.to} aria-current={section === n.key ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <label className="theme">
            <span className="visually-hidden">Colour theme</span>
            <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
              <option value="auto">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <span className="me" data-role={me.role}>
            {me.name} <span className="role">{me.role}</span>
          </span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <Page />
    </>
  );
}

export function App() {
  const [theme, setTheme] = useTheme();
  const [session, setSession] = useState<{ token: string; me: Me } | null>(null);
  const [checking, setChecking] = useState(() => storedToken() !== null);
  const [notice, setNotice] = useState<string | undefined>();

  // A token kept from earlier in this tab is checked again: it may have been revoked since.
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    void checkToken(token).then((r) => {
      if ('me' in r) setSession({ token, me: r.me });
      else {
        storeToken(null);
        setNotice(r.error);
      }
      setChecking(false);
    });
  }, []);

  const signOut = useCallback((reason?: string) => {
    storeToken(null);
    setSession(null);
    setNotice(reason ?? 'Signed out.');
  }, []);

  const onSignedIn = useCallback((token: string, me: Me) => {
    storeToken(token);
    setSession({ token, me });
    setNotice(undefined);
    if (location.pathname === '/sign-in') navigate('/', { replace: true });
  }, []);

  if (checking) return <p className="loading">Loading…</p>;
  if (!session) return <SignIn onSignedIn={onSignedIn} notice={notice} />;
  return (
    <SessionProvider token={session.token} me={session.me} signOut={signOut}>
      <Shell theme={theme} setTheme={setTheme} />
    </SessionProvider>
  );
}
