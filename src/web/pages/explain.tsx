// The explain view: the plan a branch or commit would run, before running it — which stages run,
// which are skipped and why, what waits for whom, where each runs and what it deploys.

import { type FormEvent, useEffect, useState } from 'react';
import { ErrorBox, Field, Loading, Sha } from '../components/common.js';
import { GraphPanel, preloadGraph } from '../components/graph-panel.js';
import { StageTable } from '../components/stage-table.js';
import { duration, plural } from '../lib/format.js';
import { Link, navigate, useLocation, useTitle, withQuery } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { TRIGGER_EVENTS } from '../lib/types.js';
import { useData } from '../lib/use-data.js';

export function ExplainPage({ project }: { project: string }) {
  useTitle(`Explain ${project}`);
  const { api, can } = useSession();
  const { query } = useLocation();
  const branch = query.get('branch') ?? '';
  const sha = query.get('sha') ?? '';
  const event = query.get('event') ?? '';
  const [form, setForm] = useState({ branch, sha, event });
  const [starting, setStarting] = useState<unknown>(null);
  useEffect(preloadGraph, []);
  const base = `/projects/${encodeURIComponent(project)}`;
  const result = useData(
    (signal) =>
      api.explain(
        project,
        { ...(branch ? { branch } : {}), ...(sha ? { sha } : {}), ...(event ? { event } : {}) },
        signal,
      ),
    [api, project, branch, sha, event],
  );
  const plan = result.data?.plan;

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    navigate(
      withQuery(`${base}/explain`, {
        branch: form.branch.trim(),
        sha: form.sha.trim(),
        event: form.event,
      }),
      { replace: true, keepScroll: true },
    );
  };

  const run = async (): Promise<void> => {
    setStarting(null);
    try {
      const r = await api.trigger(project, {
        event: 'manual',
        ...(plan?.context.branch ? { branch: plan.context.branch } : {}),
        ...(plan?.context.sha ? { sha: plan.context.sha } : {}),
      });
      navigate(`/runs/${r.id}`);
    } catch (err) {
      setStarting(err);
    }
  };

  const skipped = plan ? plan.stages.filter((s) => s.skip !== null).length : 0;
  const waits = plan
    ? plan.stages.reduce((n, s) => n + s.gates.enter.length + s.gates.exit.length, 0)
    : 0;

  return (
    <main id="main" className="wide">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Projects</Link> / <Link to={base}>{project}</Link> /{' '}
        <span aria-current="page">Explain</span>
      </nav>
      <h1>Explain the plan of {project}</h1>
      <form className="filters" onSubmit={submit} aria-label="Which revision to explain">
        <label>
          Branch
          <input
            value={form.branch}
            onChange={(e) => setForm({ ...form, branch: e.target.value })}
            placeholder="default branch"
          />
        </label>
        <label>
          Commit
          <input
            value={form.sha}
            onChange={(e) => setForm({ ...form, sha: e.target.value })}
            placeholder="sha (optional)"
          />
        </label>
        <label>
          Event
          <select value={form.event} onChange={(e) => setForm({ ...form, event: e.target.value })}>
            <option value="">manual</option>
            {TRIGGER_EVENTS.filter((x) => x !== 'manual').map((x) => (
              <option key={x} value={x}>
                {x.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Explain
        </button>
      </form>
      {result.loading && !result.data ? <Loading what="Planning" /> : null}
      {result.error ? <ErrorBox error={result.error} what="No plan" /> : null}
      {result.data && result.data.diagnostics.length ? (
        <section aria-label="Diagnostics" className="panel">
          <h2>{plural(result.data.diagnostics.length, 'diagnostic')}</h2>
          <ul className="diagnostics">
            {result.data.diagnostics.map((d, i) => (
              <li key={i} className={`diag ${d.severity}`}>
                <strong>
                  {d.severity} {d.code}
                </strong>{' '}
                {d.file}:{d.line}:{d.column} — {d.message}
                {d.help ? <div className="help">{d.help}</div> : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {plan ? (
        <>
          <dl className="facts">
            <Field label="Plan">
              <code className="hash" title={plan.planHash}>
                {plan.planHash.slice(0, 19)}…
              </code>
            </Field>
            <Field label="Revision">
              <span className="branch">{plan.context.branch || plan.context.tag || '—'}</span>{' '}
              <Sha sha={plan.context.sha} />
            </Field>
            <Field label="Event">{plan.context.event}</Field>
            <Field label="Stages">
              {plural(plan.stages.length, 'stage')}, {skipped} skipped, {plural(waits, 'wait')}
            </Field>
            <Field label="Time limit">{duration(plan.pipeline.timeoutMs)}</Field>
            {plan.environments.length ? (
              <Field label="Environments">{plan.environments.map((e) => e.name).join(', ')}</Field>
            ) : null}
          </dl>
          {can('operator') ? (
            <p>
              <button type="button" className="primary" onClick={() => void run()}>
                Run this plan
              </button>
            </p>
          ) : null}
          {starting ? <ErrorBox error={starting} what="The run was not started" /> : null}
          <GraphPanel
            plan={plan}
            label={`Stage graph of the plan for ${plan.context.branch || plan.context.sha}`}
          />
          <StageTable plan={plan} caption="What the plan will do, stage by stage" />
          {plan.notes.length ? (
            <ul className="notes">
              {plan.notes.map((n, i) => (
                <li key={i}>{n}</li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
    </main>
  );
}
