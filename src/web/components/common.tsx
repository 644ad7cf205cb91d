// Small pieces shared by the pages: errors, loading, times, commits and the runs table.

import type { ReactNode } from 'react';
import { ApiError } from '../lib/api.js';
import { ago, dateTime, duration, elapsed, shortSha } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { RunView } from '../lib/types.js';
import { Status } from './status.js';

export function ErrorBox({ error, what }: { error: unknown; what?: string }) {
  const message =
    error instanceof ApiError
      ? error.message
      : error instanceof Error
        ? error.message
        : String(error);
  const hint =
    error instanceof ApiError && error.status === 403
      ? ' Your token’s role does not allow this.'
      : '';
  return (
    <div className="error-box" role="alert">
      {what ? <strong>{what}: </strong> : null}
      {message}
      {hint}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  );
}

export function Time({ iso, now }: { iso: string | null | undefined; now?: number }) {
  if (!iso) return null;
  return (
    <time dateTime={iso} title={dateTime(iso)}>
      {ago(iso, now)}
    </time>
  );
}

export function Sha({ sha }: { sha: string }) {
  if (!sha) return null;
  return (
    <code className="sha" title={sha}>
      {shortSha(sha)}
    </code>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A stage list in short: how many stages are in each state. */
export function StageSummary({ run }: { run: RunView }) {
  const counts = new Map<string, number>();
  for (const s of run.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const order = [
    'failed',
    'timed_out',
    'running',
    'waiting',
    'queued',
    'succeeded',
    'unstable',
    'pending',
    'skipped',
    'cancelled',
  ];
  return (
    <span className="stage-summary">
      {order
        .filter((s) => counts.get(s))
        .map((s) => `${counts.get(s)} ${s.replace('_', ' ')}`)
        .join(', ')}
    </span>
  );
}

export function RunsTable({
  runs,
  now,
  caption,
  showProject = false,
}: {
  runs: readonly RunView[];
  now: number;
  caption: string;
  showProject?: boolean;
}) {
  return (
    <table className="runs">
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Status</th>
          {showProject ? <th scope="col">Project</th> : null}
          <th scope="col">Trigger</th>
          <th scope="col">Commit</th>
          <th scope="col">Stages</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-run={r.id} data-status={r.status}>
            <th scope="row">
              <Link to={`/runs/${r.id}`}>#{r.id}</Link>
            </th>
            <td>
              <Status status={r.status} />
            </td>
            {showProject ? (
              <td>
                <Link to={`/projects/${encodeURIComponent(r.project)}`}>{r.project}</Link>
              </td>
            ) : null}
            <td>
              <span className="event">{r.trigger.event}</span> by {r.trigger.actor || 'unknown'}
            </td>
            <td>
              {r.trigger.tag ? (
                <span className="tag">{r.trigger.tag}</span>
              ) : (
                <span className="branch">{r.trigger.branch || '—'}</span>
              )}{' '}
              <Sha sha={r.trigger.sha} />
            </td>
            <td>
              <StageSummary run={r} />
            </td>
            <td>
              <Time iso={r.startedAt ?? r.createdAt} now={now} />
            </td>
            <td>{duration(elapsed(r.startedAt, r.finishedAt, r.durationMs, now))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
