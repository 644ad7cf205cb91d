// Projects, each with its latest runs and their states.

import { ErrorBox, Loading, Time } from '../components/common.js';
import { Status } from '../components/status.js';
import { Link, useTitle } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { useRef } from 'react';
import { useData, useNow } from '../lib/use-data.js';
import { useRunsChanged } from '../lib/use-runs-changed.js';

export function ProjectsPage() {
  useTitle('Projects');
  const { api } = useSession();
  const reload = useRef<() => void>(() => undefined);
  const pollMs = useRunsChanged(api, undefined, () => reload.current());
  const { data, error, reload: reloadProjects } = useData(() => api.projects(), [api], { pollMs });
  reload.current = reloadProjects;
  const now = useNow(5000);
  return (
    <main id="main">
      <h1>Projects</h1>
      {error ? <ErrorBox error={error} what="Projects could not be loaded" /> : null}
      {!data && !error ? <Loading /> : null}
      {data && data.projects.length === 0 ? (
        <p className="empty">
          No projects yet. An admin creates one with{' '}
          <code>POST /api/v1/projects {'{name, repo}'}</code>.
        </p>
      ) : null}
      <ul className="cards projects" aria-label="Projects">
        {data?.projects.map((p) => {
          const latest = p.latestRuns?.[0];
          return (
            <li key={p.name} className="card" data-project={p.name}>
              <h2>
                <Link to={`/projects/${encodeURIComponent(p.name)}`}>{p.name}</Link>
              </h2>
              <p className="muted repo" title={p.repo}>
                {p.repo} · {p.pipeline} · default branch {p.defaultBranch}
              </p>
              {latest ? (
                <p>
                  Latest: <Link to={`/runs/${latest.id}`}>#{latest.id}</Link>{' '}
                  <Status status={latest.status} /> on{' '}
                  <span className="branch">{latest.branch || '—'}</span>{' '}
                  <Time iso={latest.createdAt} now={now} />
                </p>
              ) : (
                <p className="muted">No runs yet.</p>
              )}
              {p.latestRuns && p.latestRuns.length > 1 ? (
                <ol className="latest-runs" aria-label={`Latest runs of ${p.name}`}>
                  {p.latestRuns.map((r) => (
                    <li key={r.id}>
                      <Link
                        to={`/runs/${r.id}`}
                        aria-label={`Run ${r.id}, ${r.status}, ${r.branch}`}
                      >
                        <Status status={r.status} label={`#${r.id}`} />
                      </Link>
                    </li>
                  ))}
                </ol>
              ) : null}
            </li>
          );
        })}
      </ul>
    </main>
  );
}
