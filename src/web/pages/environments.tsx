// Environments: what is deployed where, each environment's history, and its DORA figures (deploy
// frequency, lead time for changes, change failure rate, time to restore).

import { ErrorBox, Loading, Sha, Time } from '../components/common.js';
import { Status } from '../components/status.js';
import { duration, percent, plural } from '../lib/format.js';
import { Link, navigate, useLocation, useTitle, withQuery } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import type { Deployment } from '../lib/types.js';
import { useData, useNow } from '../lib/use-data.js';

const WINDOWS = [7, 30, 90];

function Dora({ environment, days }: { environment: string; days: number }) {
  const { api } = useSession();
  const { data, error } = useData(() => api.dora(environment, days), [api, environment, days], {
    pollMs: 5000,
  });
  if (error) return <ErrorBox error={error} what="DORA figures" />;
  if (!data) return <Loading what="Computing DORA figures" />;
  const perWeek = data.deployFrequencyPerDay * 7;
  return (
    <dl className="dora" aria-label={`DORA figures for ${environment}, last ${days} days`}>
      <div>
        <dt>Deploy frequency</dt>
        <dd>
          {perWeek >= 1 || perWeek === 0
            ? `${perWeek.toFixed(perWeek < 10 ? 1 : 0)} a week`
            : `${data.deployFrequencyPerDay.toFixed(3)} a day`}
          <span className="muted"> ({plural(data.deployments, 'deployment')})</span>
        </dd>
      </div>
      <div>
        <dt>Lead time for changes</dt>
        <dd>{data.leadTimeMs === null ? '—' : duration(data.leadTimeMs)}</dd>
      </div>
      <div>
        <dt>Change failure rate</dt>
        <dd>{percent(data.changeFailureRate)}</dd>
      </div>
      <div>
        <dt>Time to restore</dt>
        <dd>{data.timeToRestoreMs === null ? '—' : duration(data.timeToRestoreMs)}</dd>
      </div>
    </dl>
  );
}

function History({ rows, now }: { rows: readonly Deployment[]; now: number }) {
  return (
    <table className="history">
      <caption className="visually-hidden">Deployment history</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Project</th>
          <th scope="col">Status</th>
          <th scope="col">Commit</th>
          <th scope="col">Run</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr key={d.id} data-deployment={d.id}>
            <td>
              <Time iso={d.at} now={now} />
            </td>
            <td>{d.project}</td>
            <td>
              <Status status={d.status} />
            </td>
            <td>
              <span className="branch">{d.branch}</span> <Sha sha={d.sha} />
            </td>
            <td>
              <Link
                to={`/runs/${d.run}/stages/${d.stage.split('/').map(encodeURIComponent).join('/')}`}
              >
                #{d.run} {d.stage}
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EnvironmentsPage() {
  useTitle('Environments');
  const { api } = useSession();
  const { query } = useLocation();
  const days = Number(query.get('days')) || 30;
  const { data, error } = useData(() => api.deployments({ limit: 500 }), [api], { pollMs: 1000 });
  const now = useNow(10_000);
  const envs = data
    ? [...new Set([...data.current, ...data.history].map((d) => d.environment))].sort()
    : [];
  const chosen = query.get('env');
  const shown = chosen && envs.includes(chosen) ? [chosen] : envs;

  return (
    <main id="main">
      <h1>Environments</h1>
      {error ? <ErrorBox error={error} what="Deployments could not be loaded" /> : null}
      {!data && !error ? <Loading /> : null}
      {data && envs.length === 0 ? (
        <p className="empty">
          Nothing has been deployed yet. A stage deploys with <code>environment -&gt; NAME</code>.
        </p>
      ) : null}
      {data && envs.length ? (
        <>
          <section aria-labelledby="where-title">
            <h2 id="where-title">What is deployed where</h2>
            <table className="deployed">
              <caption className="visually-hidden">
                The latest successful deployment of each project to each environment
              </caption>
              <thead>
                <tr>
                  <th scope="col">Environment</th>
                  <th scope="col">Project</th>
                  <th scope="col">Commit</th>
                  <th scope="col">Deployed</th>
                  <th scope="col">By run</th>
                </tr>
              </thead>
              <tbody>
                {data.current.map((d) => (
                  <tr
                    key={`${d.environment}/${d.project}`}
                    data-environment={d.environment}
                    data-project={d.project}
                  >
                    <th scope="row">{d.environment}</th>
                    <td>{d.project}</td>
                    <td>
                      <span className="branch">{d.branch}</span> <Sha sha={d.sha} />
                    </td>
                    <td>
                      <Time iso={d.at} now={now} />
                    </td>
                    <td>
                      <Link to={`/runs/${d.run}`}>#{d.run}</Link> <Status status={d.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <div className="filters" role="group" aria-label="Which environments and window">
            <label>
              Environment
              <select
                value={chosen ?? ''}
                onChange={(e) =>
                  navigate(
                    withQuery('/environments', {
                      env: e.target.value,
                      days: days === 30 ? null : days,
                    }),
                    { replace: true, keepScroll: true },
                  )
                }
              >
                <option value="">all</option>
                {envs.map((e) => (
                  <option key={e} value={e}>
                    {e}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Window
              <select
                value={days}
                onChange={(e) =>
                  navigate(
                    withQuery('/environments', {
                      env: chosen,
                      days: Number(e.target.value) === 30 ? null : e.target.value,
                    }),
                    { replace: true, keepScroll: true },
                  )
                }
              >
                {WINDOWS.map((w) => (
                  <option key={w} value={w}>
                    last {w} days
                  </option>
                ))}
              </select>
            </label>
          </div>
          {shown.map((env) => (
            <section
              key={env}
              className="panel environment"
              aria-labelledby={`env-${env}`}
              data-environment={env}
            >
              <h2 id={`env-${env}`}>{env}</h2>
              <Dora environment={env} days={days} />
              <h3>History</h3>
              <History
                rows={data.history.filter((d) => d.environment === env).slice(0, 50)}
                now={now}
              />
            </section>
          ))}
        </>
      ) : null}
    </main>
  );
}
