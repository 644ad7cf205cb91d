// The stages as a table: the same facts as the graph in a form screen readers and keyboards handle
// well, with nesting shown by indentation and every wait and skip reason in words.

import { describeGate, gateKindLabel } from '../graph/model.js';
import { duration, elapsed } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { GateView, Plan, PlanRuntime, StageView } from '../lib/types.js';
import { Status } from './status.js';

export function describeRuntime(r: PlanRuntime): string {
  switch (r.kind) {
    case 'local':
      return 'local';
    case 'sandbox':
      return r.network ? 'sandbox (network)' : 'sandbox';
    case 'docker':
      return `docker ${r.image}`;
    case 'computer':
      return `computer labelled ${r.label}`;
    case 'kubernetes':
      return `kubernetes ${r.image}`;
    case 'microvm':
      return `microvm ${r.image}`;
  }
}

export function StageTable({
  plan,
  stages,
  gates,
  selected,
  hrefFor,
  now = Date.now(),
  caption,
}: {
  plan: Plan;
  stages?: ReadonlyMap<string, StageView>;
  gates?: readonly GateView[];
  selected?: string | null;
  hrefFor?: (path: string) => string;
  now?: number;
  caption: string;
}) {
  const decided = new Map<string, GateView>();
  for (const g of gates ?? []) if (!g.waiting) decided.set(`${g.stage}\0${g.phase}\0${g.index}`, g);
  return (
    <table className="stages">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Stage</th>
          <th scope="col">{stages ? 'Status' : 'Will it run?'}</th>
          {stages ? <th scope="col">Duration</th> : null}
          <th scope="col">Needs</th>
          <th scope="col">Waits</th>
          <th scope="col">Runs on</th>
          <th scope="col">Notes</th>
        </tr>
      </thead>
      <tbody>
        {plan.stages.map((s) => {
          const v = stages?.get(s.path);
          const status =
            v?.status ?? (s.skip !== null ? 'skipped' : stages ? 'pending' : 'will run');
          const depth = s.path.split('/').length - 1;
          const waits = [
            ...s.gates.enter.map((g, i) => ({ g, phase: 'enter' as const, i })),
            ...s.gates.exit.map((g, i) => ({ g, phase: 'exit' as const, i })),
          ];
          const notes = [
            s.skip ?? (v?.message || ''),
            s.environment ? `deploys to ${s.environment}` : '',
            s.allowFailure ? 'may fail' : '',
            s.retry ? `retries ${s.retry}×` : '',
            s.concurrency ? `lock ${s.concurrency}` : '',
          ].filter(Boolean);
          const href = hrefFor?.(s.path);
          return (
            <tr
              key={s.path}
              data-stage={s.path}
              data-status={status}
              aria-current={selected === s.path ? 'true' : undefined}
              className={selected === s.path ? 'selected' : undefined}
            >
              <th scope="row" style={{ paddingLeft: `${0.5 + depth * 1.1}rem` }}>
                {href ? <Link to={href}>{s.name}</Link> : s.name}
                {depth ? <span className="visually-hidden"> (in {s.parent})</span> : null}
              </th>
              <td>
                {status === 'will run' ? (
                  <Status status="pending" label="will run" />
                ) : (
                  <Status status={status} />
                )}
              </td>
              {stages ? (
                <td>{v ? duration(elapsed(v.startedAt, v.finishedAt, v.durationMs, now)) : ''}</td>
              ) : null}
              <td className="needs">
                {s.needs.length ? s.needs.map((n) => n.split('/').pop()).join(', ') : '—'}
              </td>
              <td>
                {waits.length ? (
                  <ul className="waits">
                    {waits.map(({ g, phase, i }) => {
                      const d = decided.get(`${s.path}\0${phase}\0${i}`);
                      return (
                        <li key={`${phase}${i}`}>
                          {phase === 'enter' ? 'before' : 'after'}: {gateKindLabel(g)} —{' '}
                          {describeGate(g)}
                          {d && !d.waiting ? (
                            <>
                              {' '}
                              <Status status={d.decision} />
                              {d.actor ? ` by ${d.actor}` : ''}
                              {d.comment ? `: “${d.comment}”` : ''}
                            </>
                          ) : null}
                        </li>
                      );
                    })}
                  </ul>
                ) : (
                  '—'
                )}
              </td>
              <td>{describeRuntime(s.runtime)}</td>
              <td>{notes.join('; ')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
