// What a run waits for, and the decisions already made (with who made them). Operators approve or
// reject an open approval here, with a comment; the server checks the role and the approver list
// again, so a hidden button is a convenience, not the protection.

import { useState } from 'react';
import { describeGate, gateKindLabel } from '../graph/model.js';
import { dateTime } from '../lib/format.js';
import { useSession } from '../lib/session.js';
import type { GateView, Plan } from '../lib/types.js';
import { ErrorBox } from './common.js';
import { Status } from './status.js';

function OpenGate({
  runId,
  gate,
  plan,
  onDecided,
}: {
  runId: string;
  gate: Extract<GateView, { waiting: true }>;
  plan: Plan | undefined;
  onDecided: () => void;
}) {
  const { api, can, me } = useSession();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const planGate = plan?.stages.find((s) => s.path === gate.stage)?.gates[gate.phase][gate.index];
  const what = planGate
    ? describeGate(planGate)
    : (gate.message ?? gate.description ?? gate.url ?? '');
  const approvers = gate.approvers ?? [];
  const mayDecide =
    gate.kind === 'input' &&
    can('operator') &&
    (approvers.length === 0 || approvers.includes(me.name));
  const decide = async (d: 'approve' | 'reject'): Promise<void> => {
    setBusy(d);
    setError(null);
    try {
      await api.decide(runId, gate.stage, d, comment.trim());
      setComment('');
      onDecided();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const id = `gate-${gate.stage}-${gate.phase}-${gate.index}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return (
    <li className="gate open" data-gate={`${gate.stage}:${gate.phase}:${gate.index}`}>
      <p>
        <Status status="waiting" /> <strong>{gate.stage}</strong> waits{' '}
        {gate.phase === 'enter' ? 'before it starts' : 'after its steps'} for{' '}
        {gate.kind === 'input'
          ? 'a decision'
          : gate.kind === 'webhook'
            ? 'a callback'
            : 'a URL to answer'}
        : <q id={`${id}-q`}>{what}</q>
      </p>
      {gate.kind === 'input' && approvers.length ? (
        <p className="muted">Approvers: {approvers.join(', ')}</p>
      ) : null}
      {mayDecide ? (
        <form
          className="decide"
          aria-label={`Decide: ${what}`}
          onSubmit={(e) => {
            e.preventDefault();
            void decide('approve');
          }}
        >
          <label htmlFor={`${id}-comment`}>Comment (optional)</label>
          <textarea
            id={`${id}-comment`}
            rows={2}
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
          <div className="buttons">
            <button
              type="submit"
              className="primary approve"
              disabled={busy !== null}
              aria-describedby={`${id}-q`}
            >
              {busy === 'approve' ? 'Approving…' : 'Approve'}
            </button>
            <button
              type="button"
              className="danger reject"
              disabled={busy !== null}
              aria-describedby={`${id}-q`}
              onClick={() => void decide('reject')}
            >
              {busy === 'reject' ? 'Rejecting…' : 'Reject'}
            </button>
          </div>
          {error ? <ErrorBox error={error} what="The decision was not recorded" /> : null}
        </form>
      ) : gate.kind === 'input' ? (
        <p className="muted not-allowed">
          {can('operator')
            ? `Only ${approvers.join(', ')} may decide.`
            : 'An operator decides this; your token may only watch.'}
        </p>
      ) : null}
    </li>
  );
}

export function GatesPanel({
  runId,
  gates,
  plan,
  onDecided,
}: {
  runId: string;
  gates: readonly GateView[];
  plan: Plan | undefined;
  onDecided: () => void;
}) {
  if (!gates.length) return null;
  const open = gates.filter((g): g is Extract<GateView, { waiting: true }> => g.waiting === true);
  const decided = gates.filter((g): g is Extract<GateView, { decision: string }> => !g.waiting);
  return (
    <section className="panel gates" aria-labelledby="gates-title">
      <h2 id="gates-title">Gates</h2>
      <ul>
        {open.map((g) => (
          <OpenGate
            key={`${g.stage}:${g.phase}:${g.index}`}
            runId={runId}
            gate={g}
            plan={plan}
            onDecided={onDecided}
          />
        ))}
        {decided.map((g, i) => {
          const planGate = plan?.stages.find((s) => s.path === g.stage)?.gates[g.phase][g.index];
          return (
            <li
              key={`d${i}`}
              className="gate decided"
              data-gate={`${g.stage}:${g.phase}:${g.index}`}
              data-decision={g.decision}
            >
              <Status status={g.decision} />{' '}
              {planGate ? `${gateKindLabel(planGate)} “${describeGate(planGate)}”` : 'Gate'}{' '}
              {g.phase === 'enter' ? 'before' : 'after'} <strong>{g.stage}</strong>
              {g.actor ? (
                <>
                  {' '}
                  by <span className="actor">{g.actor}</span>
                </>
              ) : null}{' '}
              <time dateTime={g.at}>{dateTime(g.at)}</time>
              {g.comment ? <blockquote>{g.comment}</blockquote> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
