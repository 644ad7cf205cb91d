// `otto approve RUN STAGE [--reject] [--comment]` and `otto callback TOKEN success|failure`:
// answer a waiting gate from any process; the process running the run sees the decision.

import { acceptCallback, EventLog } from '../../engine/index.js';
import { EXIT, UsageError, writeOut } from '../io.js';
import { openStore } from '../home.js';
import { actorName } from './run.js';
import { findRun } from './runs.js';

export async function runApprove(runId: string, stage: string, options: { reject?: boolean; comment?: string; override?: boolean }): Promise<number> {
  const store = openStore(process.cwd(), { create: false });
  try {
    const run = await findRun(store, runId, false);
    const log = await EventLog.open(store, run.id);
    const s = log.machine.stages.get(stage);
    if (!s) throw new UsageError(`run ${run.id} has no stage '${stage}'`, `its stages: ${log.machine.order.join(', ')}`);
    const waitingFor = s.status === 'waiting' && s.gate ? s.plan.gates[s.gate.phase][s.gate.index] : undefined;
    const waiting = s.gate && waitingFor;
    if (!waiting || !s.gate) {
      const open = log.machine.order.filter((p) => {
        const x = log.machine.stages.get(p);
        return x?.status === 'waiting' && x.gate && x.plan.gates[x.gate.phase][x.gate.index] !== undefined;
      });
      throw new UsageError(`stage '${stage}' of run ${run.id} is not waiting for a person (it is ${s.status})`, open.length ? `waiting at a gate: ${open.join(', ')}` : 'no stage of this run waits at a gate');
    }
    // A callback or poll gate waits for a system; a person may decide it in its place, by saying so.
    const waitsFor = waiting.kind === 'input' ? `"${waiting.message}"` : waiting.kind === 'webhook' ? `a callback (${waiting.description})` : `a poll of ${waiting.url}`;
    if (waiting.kind !== 'input' && !options.override) {
      throw new UsageError(`stage '${stage}' waits for ${waitsFor}, not for a person`, `to decide it in its place: otto approve ${run.id} '${stage}' --override${options.reject ? ' --reject' : ''}`);
    }
    const actor = waiting.kind === 'input' ? actorName() : `${actorName()} (override)`;
    if (waiting.kind === 'input' && waiting.approvers.length && !waiting.approvers.includes(actor)) {
      throw new UsageError(`only ${waiting.approvers.join(', ')} may answer this gate, and you are '${actor}'`, 'ask one of them', EXIT.failed);
    }
    await log.append([
      { type: 'gate.decided', at: Date.now(), stage, phase: s.gate.phase, index: s.gate.index, decision: options.reject ? 'rejected' : 'approved', actor, comment: options.comment ?? '' },
    ]);
    writeOut(`${options.reject ? 'rejected' : 'approved'}: run ${run.id}, stage '${stage}' (${waitsFor})${options.comment ? ` — ${options.comment}` : ''}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runCallback(token: string, status: string, options: { message?: string }): Promise<number> {
  if (status !== 'success' && status !== 'failure') throw new UsageError(`the status must be success or failure, not '${status}'`, `otto callback ${token} success`);
  const store = openStore(process.cwd(), { create: false });
  try {
    const r = await acceptCallback(store, token, { status, ...(options.message !== undefined ? { message: options.message } : {}) }, `otto callback by ${actorName()}`, Date.now());
    if (!r.ok) throw new UsageError(r.message, r.code === 'token_used' ? 'each callback token works once' : 'copy the token from the waiting run', EXIT.failed);
    writeOut(`run ${r.runId}, stage '${r.stage}': gate ${r.decision}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
