// Agents: their labels and capabilities, state, and the stages they are running now.

import { ErrorBox, Loading, Time } from '../components/common.js';
import { Status } from '../components/status.js';
import { Link, useTitle } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { useData, useNow } from '../lib/use-data.js';

/** A job id is RUN/STAGE#ATTEMPT: link it to the stage's log. */
function JobLink({ job }: { job: string }) {
  const m = /^(\d+)\/(.+)#(\d+)$/.exec(job);
  if (!m) return <code>{job}</code>;
  const [, run, stage, attempt] = m as unknown as [string, string, string, string];
  return (
    <Link to={`/runs/${run}/stages/${stage.split('/').map(encodeURIComponent).join('/')}`}>
      run #{run} {stage}
      {attempt !== '1' ? ` (attempt ${attempt})` : ''}
    </Link>
  );
}

export function AgentsPage() {
  useTitle('Agents');
  const { api } = useSession();
  const { data, error } = useData(() => api.agents(), [api], { pollMs: 1000 });
  const now = useNow(5000);
  return (
    <main id="main">
      <h1>Agents</h1>
      {error ? <ErrorBox error={error} what="Agents could not be loaded" /> : null}
      {!data && !error ? <Loading /> : null}
      {data && data.agents.length === 0 ? (
        <p className="empty">
          No agent has registered. Start one with <code>otto agent --server URL</code> and an agent
          token.
        </p>
      ) : null}
      {data && data.agents.length ? (
        <table className="agents">
          <caption className="visually-hidden">Agents</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">State</th>
              <th scope="col">Labels</th>
              <th scope="col">Capabilities</th>
              <th scope="col">Current work</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {data.agents.map((a) => (
              <tr key={a.id} data-agent={a.name} data-state={a.state}>
                <th scope="row">
                  {a.name} <span className="muted">v{a.version}</span>
                </th>
                <td>
                  <Status status={a.state} />
                  <span className="muted">
                    {' '}
                    {a.jobs.length}/{a.maxJobs}
                  </span>
                </td>
                <td>
                  {a.labels.length ? (
                    a.labels.map((l) => (
                      <span key={l} className="label">
                        {l}
                      </span>
                    ))
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
                <td>{a.capabilities.join(', ')}</td>
                <td>
                  {a.jobs.length ? (
                    <ul className="jobs">
                      {a.jobs.map((j) => (
                        <li key={j}>
                          <JobLink job={j} />
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">idle</span>
                  )}
                </td>
                <td>
                  <Time iso={a.lastSeenAt} now={now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
