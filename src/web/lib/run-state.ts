// A run as the page shows it: the record from GET /runs/ID, then kept current by the run's event
// stream. The stream is read from its first event, so the stages and gates it builds are complete;
// messages are applied in batches, one copy of the state per batch however many events it holds.

import type { GateView, Plan, RunEventMessage, RunView, StageView } from './types.js';

export interface LiveRun {
  readonly run: RunView;
  readonly stages: ReadonlyMap<string, StageView>;
  readonly gates: readonly GateView[];
  /** The last event applied (0 before the stream has said anything). */
  readonly seq: number;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'invalid']);

export function fromRecord(run: RunView, previous?: LiveRun): LiveRun {
  // A fresh record may be older than events already applied: keep the newer stage states.
  if (previous && previous.seq > 0)
    return { ...previous, run: { ...run, status: previous.run.status, stages: run.stages } };
  return {
    run,
    stages: new Map(run.stages.map((s) => [s.path, s])),
    gates: run.gates ?? [],
    seq: 0,
  };
}

function sameGate(a: GateView, stage: string, phase: string, index: number): boolean {
  return a.stage === stage && a.phase === phase && a.index === index;
}

export function applyEvents(
  state: LiveRun,
  messages: readonly RunEventMessage[],
  plan: Plan | undefined,
): LiveRun {
  if (!messages.length) return state;
  const stages = new Map(state.stages);
  let gates = [...state.gates];
  let run = state.run;
  let seq = state.seq;
  for (const m of messages) {
    if (m.seq <= seq) continue;
    seq = m.seq;
    if (m.type === 'run.created') {
      // The stream starts at the beginning: what it says replaces what the record said.
      stages.clear();
      gates = [];
    }
    for (const s of m.stages) stages.set(s.path, s);
    const d = m.data as {
      stage?: string;
      phase?: 'enter' | 'exit';
      index?: number;
      decision?: GateView['decision'];
      actor?: string;
      comment?: string;
    };
    if (m.type === 'gate.opened' && d.stage && d.phase && d.index !== undefined) {
      const { stage, phase, index } = d;
      const g = plan?.stages.find((s) => s.path === stage)?.gates[phase][index];
      gates = gates.filter((x) => !(x.waiting && x.stage === stage));
      gates.push({
        stage,
        phase,
        index,
        waiting: true,
        kind: g?.kind ?? 'input',
        ...(g?.kind === 'input'
          ? { message: g.message, approvers: g.approvers }
          : g?.kind === 'webhook'
            ? { description: g.description }
            : g?.kind === 'poll'
              ? { url: g.url }
              : {}),
      });
    } else if (
      m.type === 'gate.decided' &&
      d.stage &&
      d.phase &&
      d.index !== undefined &&
      d.decision
    ) {
      const { stage, phase, index } = d;
      gates = gates.filter((x) => !(x.waiting && sameGate(x, stage, phase, index)));
      gates.push({
        stage,
        phase,
        index,
        decision: d.decision,
        actor: d.actor ?? '',
        comment: d.comment ?? '',
        at: m.at,
      });
    }
    if (m.type === 'run.started' && !run.startedAt) run = { ...run, startedAt: m.at };
    if (m.run.status !== run.status || m.run.message !== run.message) {
      run = { ...run, status: m.run.status, message: m.run.message };
      if (FINISHED.has(m.run.status) && !run.finishedAt)
        run = {
          ...run,
          finishedAt: m.at,
          durationMs: run.startedAt ? Date.parse(m.at) - Date.parse(run.startedAt) : null,
        };
    }
  }
  // Stages that stopped waiting close their open gates (a cancelled run, say).
  gates = gates.filter((g) => !g.waiting || stages.get(g.stage)?.status === 'waiting');
  return { run, stages, gates, seq };
}

/** The stage a reader most likely wants to see: a running one, else a failed one, else the last that ran. */
export function interestingStage(live: LiveRun, plan: Plan | undefined): string | null {
  const order = plan ? plan.stages.map((s) => s.path) : [...live.stages.keys()];
  const by = (statuses: string[]): string | undefined =>
    order.find((p) => statuses.includes(live.stages.get(p)?.status ?? ''));
  const last = [...order].reverse().find((p) => {
    const s = live.stages.get(p);
    return s && s.startedAt && s.status !== 'skipped';
  });
  return (
    by(['running']) ?? by(['failed', 'timed_out']) ?? by(['waiting']) ?? last ?? order[0] ?? null
  );
}
