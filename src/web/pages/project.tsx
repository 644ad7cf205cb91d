// A project: its runs, a page at a time (the server pages with `before`, so 10,000 runs are never
// loaded at once), filtered by status, branch and event; operators can trigger a run.

import { type FormEvent, useRef, useState } from 'react';
import { ErrorBox, Loading, RunsTable } from '../components/common.js';
import { Link, navigate, useLocation, useTitle, withQuery } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { RUN_STATUSES, TRIGGER_EVENTS } from '../lib/types.js';
import { useData, useNow } from '../lib/use-data.js';
import { useRunsChanged } from '../lib/use-runs-changed.js';

const PAGE = 25;

function parseVars(text: string): Record<string, string> | string {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return `“${line}” is not NAME=value`;
    vars[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return vars;
}

function TriggerForm({
  project,
  defaultBranch,
  onClose,
}: {
  project: string;
  defaultBranch: string;
  onClose: () => void;
}) {
  const { api } = useSession();
  const [branch, setBranch] = useState(defaultBranch);
  const [sha, setSha] = useState('');
  const [vars, setVars] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const parsed = parseVars(vars);
    if (typeof parsed === 'string') {
      setError(new Error(parsed));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const run = await api.trigger(project, {
        event: 'manual',
        ...(branch.trim() ? { branch: branch.trim() } : {}),
        ...(sha.trim() ? { sha: sha.trim() } : {}),
        ...(Object.keys(parsed).length ? { vars: parsed } : {}),
      });
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form
      className="panel trigger-form"
      onSubmit={(e) => void submit(e)}
      aria-label="Trigger a run"
    >
      <h2>Trigger a run</h2>
      <div className="row">
        <label>
          Branch
          <input
            value={branch}
            onChange={(e) => setBranch(e.target.value)}
            placeholder={defaultBranch}
          />
        </label>
        <label>
          Commit (optional)
          <input
            value={sha}
            onChange={(e) => setSha(e.target.value)}
            placeholder="sha"
            pattern="[0-9a-fA-F]{4,64}"
          />
        </label>
      </div>
      <label>
        Variables (optional, one NAME=value a line)
        <textarea rows={2} value={vars} onChange={(e) => setVars(e.target.value)} />
      </label>
      {error ? <ErrorBox error={error} what="The run was not started" /> : null}
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <Link to={withQuery(`/projects/${encodeURIComponent(project)}/explain`, { branch, sha })}>
          Explain this first
        </Link>
      </div>
    </form>
  );
}

export function ProjectPage({ name }: { name: string }) {
  useTitle(name);
  const { api, can } = useSession();
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const branch = query.get('branch') ?? '';
  const event = query.get('event') ?? '';
  const before = query.get('before') ? Number(query.get('before')) : null;
  // The cursors of the pages before this one, so "Newer" can go back without a count of all runs.
  const history = useRef<(number | null)[]>([]);
  const [triggering, setTriggering] = useState(false);
  const project = useData(() => api.project(name), [api, name]);
  const reloadRuns = useRef<() => void>(() => undefined);
  const pollMs = useRunsChanged(api, name, () => reloadRuns.current());
  const runs = useData(
    (signal) => api.runs({ project: name, status, branch, event, before, limit: PAGE }, signal),
    [api, name, status, branch, event, before],
    { pollMs },
  );
  reloadRuns.current = runs.reload;
  const now = useNow(1000);
  const base = `/projects/${encodeURIComponent(name)}`;
  const setFilter = (key: string, value: string): void => {
    history.current = [];
    navigate(withQuery(base, { status, branch, event, [key]: value, before: null }), {
      replace: true,
      keepScroll: true,
    });
  };
  const [branchInput, setBranchInput] = useState(branch);

  return (
    <main id="main">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Projects</Link> / <span aria-current="page">{name}</span>
      </nav>
      <div className="title-row">
        <h1>{name}</h1>
        <div className="actions">
          <Link className="button" to={`${base}/explain`}>
            Explain the plan
          </Link>
          {can('operator') ? (
            <button
              type="button"
              className="primary"
              onClick={() => setTriggering((t) => !t)}
              aria-expanded={triggering}
            >
              Trigger a run
            </button>
          ) : null}
        </div>
      </div>
      {project.error ? <ErrorBox error={project.error} /> : null}
      {project.data ? (
        <p className="muted">
          {project.data.repo} · {project.data.pipeline} · default branch{' '}
          {project.data.defaultBranch}
          {project.data.webhook ? ' · webhook configured' : ''}
        </p>
      ) : null}
      {triggering && project.data ? (
        <TriggerForm
          project={name}
          defaultBranch={project.data.defaultBranch}
          onClose={() => setTriggering(false)}
        />
      ) : null}

      <h2>Runs</h2>
      <form
        className="filters"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter('branch', branchInput.trim());
        }}
      >
        <label>
          Status
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Branch
          <input
            value={branchInput}
            onChange={(e) => setBranchInput(e.target.value)}
            onBlur={() => branchInput.trim() !== branch && setFilter('branch', branchInput.trim())}
            placeholder="any"
          />
        </label>
        <label>
          Event
          <select value={event} onChange={(e) => setFilter('event', e.target.value)}>
            <option value="">any</option>
            {TRIGGER_EVENTS.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {runs.error ? <ErrorBox error={runs.error} what="Runs could not be loaded" /> : null}
      {!runs.data && !runs.error ? <Loading what="Loading runs" /> : null}
      {runs.data && runs.data.runs.length === 0 ? (
        <p className="empty">
          {status || branch || event ? 'No run matches these filters.' : 'No runs yet.'}
        </p>
      ) : null}
      {runs.data && runs.data.runs.length > 0 ? (
        <RunsTable runs={runs.data.runs} now={now} caption={`Runs of ${name}`} />
      ) : null}
      <nav className="pager" aria-label="Pages of runs">
        <button
          type="button"
          disabled={before === null}
          onClick={() => {
            const prev = history.current.pop();
            navigate(withQuery(base, { status, branch, event, before: prev ?? null }), {
              keepScroll: true,
            });
          }}
        >
          ← Newer
        </button>
        {before !== null ? (
          <button
            type="button"
            onClick={() => {
              history.current = [];
              navigate(withQuery(base, { status, branch, event }), { keepScroll: true });
            }}
          >
            Newest
          </button>
        ) : null}
        <button
          type="button"
          disabled={!runs.data?.next}
          onClick={() => {
            history.current.push(before);
            navigate(withQuery(base, { status, branch, event, before: runs.data?.next ?? null }), {
              keepScroll: true,
            });
          }}
        >
          Older →
        </button>
      </nav>
    </main>
  );
}
