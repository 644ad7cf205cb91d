// A run: its stage graph with live state, the log of the selected stage, the gates and who decided
// them, the trigger and plan hash, artifacts, and the operator's actions (cancel, re-run).

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Artifacts } from '../components/artifacts.js';
import { ErrorBox, Field, Loading, Sha } from '../components/common.js';
import { GatesPanel } from '../components/gates-panel.js';
import { GraphPanel, preloadGraph } from '../components/graph-panel.js';
import { lineHash, LogView, parseLineHash } from '../components/log-view.js';
import { StageTable, describeRuntime } from '../components/stage-table.js';
import { ACTIVE, FINISHED, Status } from '../components/status.js';
import { ApiError, stagePathUrl } from '../lib/api.js';
import { EventStream, type StreamState } from '../lib/event-stream.js';
import { dateTime, duration, elapsed } from '../lib/format.js';
import { Link, navigate, useLocation, useTitle, withQuery } from '../lib/router.js';
import { applyEvents, fromRecord, interestingStage, type LiveRun } from '../lib/run-state.js';
import { useSession } from '../lib/session.js';
import type { Plan, RunEventMessage } from '../lib/types.js';
import { useNow } from '../lib/use-data.js';

function useLiveRun(id: string): {
  live: LiveRun | null;
  plan: Plan | undefined;
  error: unknown;
  stream: { state: StreamState; detail: string; connections: number };
  refresh: () => void;
} {
  const { api } = useSession();
  const [live, setLive] = useState<LiveRun | null>(null);
  const [plan, setPlan] = useState<Plan | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [stream, setStream] = useState<{ state: StreamState; detail: string; connections: number }>(
    { state: 'connecting', detail: '', connections: 0 },
  );
  const [loaded, setLoaded] = useState<{ id: string; finished: boolean } | null>(null);
  const planRef = useRef<Plan | undefined>(undefined);

  const refresh = useCallback(() => {
    void api.run(id).then(
      (run) => setLive((prev) => fromRecord(run, prev ?? undefined)),
      () => {},
    );
  }, [api, id]);

  useEffect(() => {
    preloadGraph();
    setLive(null);
    setPlan(undefined);
    setError(null);
    setLoaded(null);
    planRef.current = undefined;
    let stopped = false;
    void (async () => {
      try {
        const [run, p] = await Promise.all([
          api.run(id),
          api
            .runPlan(id)
            .catch((e: unknown) =>
              e instanceof ApiError && e.status === 404 ? undefined : Promise.reject(e),
            ),
        ]);
        if (stopped) return;
        planRef.current = p;
        performance.mark('otto:run:loaded');
        setPlan(p);
        setLive(fromRecord(run));
        setLoaded({ id, finished: FINISHED.has(run.status) });
      } catch (e) {
        if (!stopped) setError(e);
      }
    })();
    return () => {
      stopped = true;
    };
  }, [api, id]);

  // The event stream, from the first event (so state built from it is complete), batched per frame.
  useEffect(() => {
    if (!loaded || loaded.id !== id) return;
    if (loaded.finished) {
      setStream({ state: 'closed', detail: 'finished', connections: 0 });
      return;
    }
    let queue: RunEventMessage[] = [];
    let frame = 0;
    let finished = false;
    const flush = (): void => {
      frame = 0;
      const batch = queue;
      queue = [];
      setLive((prev) => (prev ? applyEvents(prev, batch, planRef.current) : prev));
      const last = batch[batch.length - 1];
      if (last && FINISHED.has(last.run.status) && !finished) {
        finished = true;
        es.close();
        setStream({ state: 'closed', detail: 'finished', connections: es.connections });
        refresh();
      }
    };
    const es = new EventStream({
      url: `/api/v1/events?run=${encodeURIComponent(id)}`,
      headers: api.headers(),
      onMessage: (m) => {
        try {
          queue.push(JSON.parse(m.data) as RunEventMessage);
        } catch {
          return;
        }
        if (!frame) frame = requestAnimationFrame(flush);
      },
      onState: (state, detail) => {
        if (!finished) setStream({ state, detail, connections: es.connections });
      },
    });
    es.start();
    return () => {
      finished = true;
      es.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [loaded, id, api, refresh]);

  return { live, plan, error, stream, refresh };
}

function LiveBadge({
  state,
  detail,
  seq,
  connections,
}: {
  state: StreamState;
  detail: string;
  seq: number;
  connections: number;
}) {
  const text =
    state === 'live'
      ? 'Live'
      : state === 'connecting'
        ? 'Connecting…'
        : state === 'reconnecting'
          ? 'Connection lost, reconnecting…'
          : state === 'failed'
            ? `Live updates refused: ${detail}`
            : detail === 'finished'
              ? 'Finished'
              : 'Not live';
  return (
    <span
      className={`live-badge ${state}`}
      role="status"
      data-state={state}
      data-seq={seq}
      data-connections={connections}
      title={`events up to #${seq}`}
    >
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function RunActions({ id, status }: { id: string; status: string }) {
  const { api, can } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!can('operator')) return null;
  const act = async (f: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const rerun = (fromFailed: boolean): Promise<void> =>
    act(async () => {
      const r = await api.rerun(id, fromFailed);
      navigate(`/runs/${r.id}`);
    });
  return (
    <div className="actions">
      {ACTIVE.has(status) ? (
        confirming ? (
          <>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => void act(() => api.cancel(id))}
            >
              Yes, cancel the run
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it running
            </button>
          </>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Cancel run
          </button>
        )
      ) : (
        <>
          {status === 'failed' || status === 'cancelled' || status === 'interrupted' ? (
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void rerun(true)}
            >
              Re-run from failed stage
            </button>
          ) : null}
          <button type="button" disabled={busy} onClick={() => void rerun(false)}>
            Re-run
          </button>
        </>
      )}
      {error ? <ErrorBox error={error} what="Not done" /> : null}
    </div>
  );
}

export function RunPage({ id, stage }: { id: string; stage: string | null }) {
  const { api } = useSession();
  const { hash, query } = useLocation();
  const { live, plan, error, stream, refresh } = useLiveRun(id);
  const run = live?.run;
  const active = !!run && !FINISHED.has(run.status);
  const now = useNow(1000, active);
  useTitle(run ? `Run #${id} ${run.status} · ${run.project}` : `Run #${id}`);

  const hrefFor = useCallback(
    (path: string) => `/runs/${encodeURIComponent(id)}/stages/${stagePathUrl(path)}`,
    [id],
  );
  const onSelect = useCallback(
    (path: string) => navigate(hrefFor(path), { keepScroll: true }),
    [hrefFor],
  );
  const selected = stage ?? (live ? interestingStage(live, plan) : null);
  const view = selected ? live?.stages.get(selected) : undefined;
  const attemptParam = query.get('attempt');
  const attempt = attemptParam ? Number(attemptParam) : undefined;
  const lines = parseLineHash(hash);
  // The table of every stage is built only when opened (hundreds of rows, refreshed every second).
  const [tableOpen, setTableOpen] = useState(false);
  const stageActive = !!view && ['queued', 'running'].includes(view.status);
  const started =
    !!view &&
    (!!view.startedAt || stageActive) &&
    view.status !== 'waiting' &&
    view.status !== 'pending';
  const finishedCount = useMemo(
    () =>
      live
        ? [...live.stages.values()].filter((s) => FINISHED.has(s.status) || s.status === 'skipped')
            .length
        : 0,
    [live],
  );

  if (error) {
    return (
      <main id="main">
        <h1>Run #{id}</h1>
        <ErrorBox error={error} what="This run could not be loaded" />
      </main>
    );
  }
  if (!live || !run) return <Loading what={`Loading run #${id}`} />;
  const planStage = plan?.stages.find((s) => s.path === selected);

  return (
    <main id="main" className="wide run-page" data-run={id} data-status={run.status}>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Projects</Link> /{' '}
        <Link to={`/projects/${encodeURIComponent(run.project)}`}>{run.project}</Link> /{' '}
        <span aria-current="page">Run #{id}</span>
      </nav>
      <div className="title-row">
        <h1>
          Run #{id} <Status status={run.status} />
        </h1>
        <LiveBadge
          state={stream.state}
          detail={stream.detail}
          seq={live.seq}
          connections={stream.connections}
        />
        <RunActions id={id} status={run.status} />
      </div>
      {run.message ? <p className="run-message">{run.message}</p> : null}
      <dl className="facts">
        <Field label="Trigger">
          <span className="event">{run.trigger.event}</span> by{' '}
          <span className="actor">{run.trigger.actor || 'unknown'}</span>
        </Field>
        <Field label="Commit">
          {run.trigger.tag ? (
            <span className="tag">{run.trigger.tag}</span>
          ) : (
            <span className="branch">{run.trigger.branch || '—'}</span>
          )}{' '}
          <Sha sha={run.trigger.sha} />
        </Field>
        <Field label="Plan">
          <code className="hash" title={run.planHash} data-plan-hash={run.planHash}>
            {run.planHash.slice(0, 19)}…
          </code>{' '}
          <button
            type="button"
            className="link"
            onClick={() => void navigator.clipboard?.writeText(run.planHash)}
            aria-label="Copy the plan hash"
          >
            copy
          </button>
        </Field>
        <Field label="Started">{run.startedAt ? dateTime(run.startedAt) : 'not yet'}</Field>
        <Field label="Duration">
          {duration(elapsed(run.startedAt, run.finishedAt, run.durationMs, now)) || '—'}
        </Field>
        <Field label="Stages">
          {finishedCount} of {live.stages.size} done
        </Field>
        {run.rerunOf ? (
          <Field label="Re-run of">
            <Link to={`/runs/${run.rerunOf}`}>#{run.rerunOf}</Link>
          </Field>
        ) : null}
      </dl>
      {run.diagnostics?.length ? (
        <section className="panel" aria-label="Why the run is invalid">
          <h2>Diagnostics</h2>
          <ul className="diagnostics">
            {run.diagnostics.map((d, i) => (
              <li key={i} className={`diag ${d.severity}`}>
                <strong>
                  {d.severity} {d.code}
                </strong>{' '}
                {d.file}:{d.line}:{d.column} — {d.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <GatesPanel runId={id} gates={live.gates} plan={plan} onDecided={refresh} />
      {plan ? (
        <GraphPanel
          plan={plan}
          stages={live.stages}
          gates={live.gates}
          selected={selected}
          hrefFor={hrefFor}
          onSelect={onSelect}
          now={now}
          label={`Stage graph of run ${id}`}
        />
      ) : null}

      {selected ? (
        <section className="stage-detail" aria-labelledby="stage-title">
          <div className="title-row">
            <h2 id="stage-title">
              {selected} {view ? <Status status={view.status} /> : null}
            </h2>
            {view && view.attempt > 1 ? (
              <label>
                Attempt{' '}
                <select
                  value={attempt ?? ''}
                  onChange={(e) =>
                    navigate(withQuery(hrefFor(selected), { attempt: e.target.value }), {
                      replace: true,
                      keepScroll: true,
                    })
                  }
                >
                  <option value="">all</option>
                  {Array.from({ length: view.attempt }, (_, i) => (
                    <option key={i + 1} value={i + 1}>
                      {i + 1}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
          </div>
          <p className="muted">
            {[
              view ? duration(elapsed(view.startedAt, view.finishedAt, view.durationMs, now)) : '',
              view?.exitCode !== null && view?.exitCode !== undefined
                ? `exit code ${view.exitCode}`
                : '',
              planStage ? `runs on ${describeRuntime(planStage.runtime)}` : '',
              planStage?.environment ? `deploys to ${planStage.environment}` : '',
              view?.message ?? '',
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
          {started ? (
            <LogView
              key={`${selected}:${attempt ?? ''}:${view?.attempt ?? 0}`}
              api={api}
              runId={id}
              stage={selected}
              {...(attempt !== undefined ? { attempt } : {})}
              active={stageActive}
              startAtEnd={!!view && ['failed', 'timed_out', 'unstable'].includes(view.status)}
              selected={lines}
              onSelect={(range) =>
                navigate(
                  withQuery(hrefFor(selected), { attempt: attemptParam }) + lineHash(range),
                  { replace: true, keepScroll: true },
                )
              }
            />
          ) : (
            <p className="muted log-placeholder">
              {view?.status === 'skipped'
                ? `Skipped: ${view.message || planStage?.skip || ''}`
                : view?.status === 'waiting'
                  ? 'Waiting at a gate; the log starts when the stage runs.'
                  : 'Not started yet; the log appears when it runs.'}
            </p>
          )}
        </section>
      ) : null}

      {plan ? (
        <details className="stage-table" onToggle={(e) => setTableOpen(e.currentTarget.open)}>
          <summary>All {live.stages.size} stages as a table</summary>
          {tableOpen ? (
            <StageTable
              plan={plan}
              stages={live.stages}
              gates={live.gates}
              selected={selected}
              hrefFor={hrefFor}
              now={now}
              caption={`Stages of run ${id}`}
            />
          ) : null}
        </details>
      ) : null}
      <Artifacts runId={id} refresh={FINISHED.has(run.status) ? 'finished' : 'running'} />
    </main>
  );
}
