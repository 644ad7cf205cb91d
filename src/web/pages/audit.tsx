// The audit log (admins): who did what to which target, oldest first, a page at a time.

import { ErrorBox, Loading } from '../components/common.js';
import { dateTime } from '../lib/format.js';
import { navigate, useLocation, useTitle, withQuery } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { useData } from '../lib/use-data.js';

const PAGE = 100;

export function AuditPage() {
  useTitle('Audit log');
  const { api } = useSession();
  const { query } = useLocation();
  const after = Number(query.get('after')) || 0;
  const { data, error } = useData(() => api.audit(after, PAGE), [api, after], { pollMs: 2000 });
  const records = data?.records ?? [];
  const last = records[records.length - 1];
  return (
    <main id="main">
      <h1>Audit log</h1>
      <p className="muted">
        Every change made through Otto, in order; each record holds the hash of the one before it
        (check with <code>otto audit verify</code>).
      </p>
      {error ? <ErrorBox error={error} what="The audit log could not be loaded" /> : null}
      {!data && !error ? <Loading /> : null}
      {data && records.length === 0 ? (
        <p className="empty">No records {after ? `after #${after}` : 'yet'}.</p>
      ) : null}
      {records.length ? (
        <table className="audit">
          <caption className="visually-hidden">Audit records</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id} data-action={r.action}>
                <td>{r.id}</td>
                <td>
                  <time dateTime={r.at}>{dateTime(r.at)}</time>
                </td>
                <td>{r.actor}</td>
                <td>
                  <code>{r.action}</code>
                </td>
                <td>{r.target}</td>
                <td className="details">
                  {Object.entries(r.details)
                    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
                    .join('; ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav className="pager" aria-label="Pages of the audit log">
        <button
          type="button"
          disabled={after === 0}
          onClick={() =>
            navigate(withQuery('/audit', { after: Math.max(0, after - PAGE) || null }))
          }
        >
          ← Earlier
        </button>
        <button
          type="button"
          disabled={records.length < PAGE || !last}
          onClick={() => last && navigate(withQuery('/audit', { after: last.id }))}
        >
          Later →
        </button>
      </nav>
    </main>
  );
}
