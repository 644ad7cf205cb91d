// A run's artifacts, each downloadable. Downloads go through fetch (they need the token), so the
// browser saves a blob; a server without artifact routes shows "no artifacts".

import { useState } from 'react';
import { bytes, plural } from '../lib/format.js';
import { useSession } from '../lib/session.js';
import { useData } from '../lib/use-data.js';
import { ErrorBox } from './common.js';

export function Artifacts({ runId, refresh }: { runId: string; refresh: unknown }) {
  const { api } = useSession();
  const { data, error } = useData(() => api.artifacts(runId), [api, runId, refresh]);
  const [downloading, setDownloading] = useState<string | null>(null);
  const [failed, setFailed] = useState<unknown>(null);
  const withStage = !!data?.some((a) => a.stage);
  return (
    <section className="panel artifacts" aria-labelledby="artifacts-title">
      <h2 id="artifacts-title">Artifacts</h2>
      {error ? <ErrorBox error={error} what="Artifacts could not be listed" /> : null}
      {data && data.length === 0 ? <p className="muted">No artifacts.</p> : null}
      {data && data.length ? (
        <table>
          <caption className="visually-hidden">Artifacts of run {runId}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {withStage ? <th scope="col">Stage</th> : null}
              <th scope="col">Files</th>
              <th scope="col">Size</th>
              <th scope="col">
                <span className="visually-hidden">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map((a) => (
              <tr key={a.name}>
                <th scope="row">{a.name}</th>
                {withStage ? <td>{a.stage ?? '—'}</td> : null}
                <td>{plural(a.files, 'file')}</td>
                <td>{bytes(a.size)}</td>
                <td>
                  <a
                    href={api.artifactUrl(runId, a.name)}
                    aria-label={`Download ${a.name}`}
                    aria-busy={downloading === a.name}
                    onClick={(e) => {
                      e.preventDefault();
                      setDownloading(a.name);
                      setFailed(null);
                      api
                        .download(api.artifactUrl(runId, a.name), `${a.name}.tar.gz`)
                        .catch((err: unknown) => setFailed(err))
                        .finally(() => setDownloading(null));
                    }}
                  >
                    {downloading === a.name ? 'Downloading…' : 'Download'}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {failed ? <ErrorBox error={failed} what="Download failed" /> : null}
    </section>
  );
}
