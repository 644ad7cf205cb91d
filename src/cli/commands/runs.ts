// `otto runs`, `otto logs`, `otto cancel`: look at and steer recorded runs.

import pc from 'picocolors';
import { EventLog, ownerAlive, type RunEvent } from '../../engine/index.js';
import type { RunRecord, Store } from '../../store/index.js';
import { EXIT, UsageError, useColor, writeOut } from '../io.js';
import { openStore } from '../home.js';
import { formatDuration, statusWord } from '../ui/format.js';
import { runJson } from '../ui/summary.js';
import { actorName } from './run.js';

const ACTIVE = ['queued', 'running', 'waiting'];

/** A run whose orchestrator died is interrupted, never "running" forever: record that when we see it. */
export async function noticeInterrupted(store: Store, run: RunRecord): Promise<RunRecord> {
  if (!ACTIVE.includes(run.status) || !run.owner || ownerAlive(run.owner)) return run;
  const log = await EventLog.open(store, run.id);
  if (!ACTIVE.includes(log.machine.status)) return run;
  if (log.machine.cancelRequested) {
    // It was being cancelled when its process died: finish the cancel rather than offer a resume.
    await log.append(endInFlight(log, 'cancelled: the otto process stopped before its steps ended'));
  } else {
    await log.append([{ type: 'run.interrupted', at: Date.now(), reason: `the otto process driving it (${run.owner}) is gone; continue it with otto resume ${run.id}` }]);
  }
  return (await store.getRun(run.id)) as RunRecord;
}

/** job.finished (cancelled) for every attempt nobody is running any more. */
function endInFlight(log: EventLog, message: string): Array<Extract<RunEvent, { type: 'job.finished' }>> {
  const at = Date.now();
  const m = log.machine;
  return m.order
    .map((p) => m.stages.get(p)!)
    .filter((s) => s.status === 'running' || s.status === 'queued')
    .map((s) => ({ type: 'job.finished' as const, at, stage: s.plan.path, attempt: s.attempt, outcome: 'cancelled' as const, message, lastSeq: 0 }));
}

export async function findRun(store: Store, id: string | undefined, last: boolean | undefined): Promise<RunRecord> {
  if (last || id === undefined) {
    const [latest] = await store.listRuns({ limit: 1 });
    if (!latest) throw new UsageError('there are no runs yet', 'start one with otto run');
    return noticeInterrupted(store, latest);
  }
  const run = await store.getRun(id);
  if (!run) throw new UsageError(`there is no run '${id}'`, 'list runs with otto runs');
  return noticeInterrupted(store, run);
}

export async function runRuns(options: { json?: boolean; limit?: string; status?: string }): Promise<number> {
  const store = openStore(process.cwd(), { create: false });
  try {
    const limit = options.limit === undefined ? 20 : Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit '${options.limit}' is not a positive number`);
    const runs = await Promise.all((await store.listRuns({ limit, ...(options.status ? { status: options.status as RunRecord['status'] } : {}) })).map((r) => noticeInterrupted(store, r)));
    if (options.json) {
      const out = [];
      for (const r of runs) out.push(runJson(r, await store.listStages(r.id)));
      writeOut(JSON.stringify(out, null, 2));
      return EXIT.ok;
    }
    if (runs.length === 0) {
      writeOut('no runs yet');
      return EXIT.ok;
    }
    const c = pc.createColors(useColor(process.stdout));
    writeOut(c.dim(`${'RUN'.padEnd(6)}${'STATUS'.padEnd(13)}${'STARTED'.padEnd(21)}${'TOOK'.padEnd(9)}${'BRANCH'.padEnd(18)}STAGES`));
    for (const r of runs) {
      const stages = await store.listStages(r.id);
      const done = stages.filter((s) => ['succeeded', 'skipped', 'unstable'].includes(s.status)).length;
      const started = r.startedAt ?? r.createdAt;
      const took = r.startedAt !== null && r.finishedAt !== null ? formatDuration(r.finishedAt - r.startedAt) : ACTIVE.includes(r.status) ? '…' : '';
      const status = statusWord(r.status);
      const colored = r.status === 'succeeded' ? c.green(status) : ['failed', 'invalid', 'interrupted'].includes(r.status) ? c.red(status) : c.yellow(status);
      writeOut(`${r.id.padEnd(6)}${colored}${' '.repeat(Math.max(1, 13 - status.length))}${new Date(started).toISOString().slice(0, 19).replace('T', ' ').padEnd(21)}${took.padEnd(9)}${(r.trigger.branch || '-').slice(0, 16).padEnd(18)}${done}/${stages.length}${r.message ? c.dim(`  ${r.message}`) : ''}`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runLogs(id: string | undefined, stage: string | undefined, options: { last?: boolean; follow?: boolean; attempt?: string }): Promise<number> {
  if (id === undefined && !options.last) throw new UsageError('name a run, or pass --last', 'otto logs 3, or otto logs --last');
  const store = openStore(process.cwd(), { create: false });
  try {
    const run = await findRun(store, options.last ? undefined : id, options.last);
    const stages = (await store.listStages(run.id)).map((s) => s.path);
    if (stage !== undefined && !stages.includes(stage)) {
      throw new UsageError(`run ${run.id} has no stage '${stage}'`, `its stages: ${stages.join(', ')}`);
    }
    const attempt = options.attempt === undefined ? undefined : Number(options.attempt);
    const seen = new Map<string, number>();
    // Where each stage's output stands: a chunk may end mid-line, and the next stage's output
    // must not be glued to it.
    let lastKey = '';
    let atLineStart = true;
    const print = async (): Promise<void> => {
      const records = await store.readLogs(run.id, { ...(stage !== undefined ? { stage } : {}), ...(attempt !== undefined ? { attempt } : {}) });
      for (const r of records) {
        const key = `${r.stage}\0${r.attempt}`;
        if ((seen.get(key) ?? 0) >= r.seq) continue;
        if (key !== lastKey && !atLineStart) process.stdout.write('\n');
        if (key !== lastKey) atLineStart = true;
        lastKey = key;
        if (!seen.has(key) && r.attempt > 1) process.stdout.write(`${stage === undefined ? `[${r.stage}] ` : ''}--- attempt ${r.attempt} ---\n`);
        seen.set(key, r.seq);
        if (r.text === '') continue;
        process.stdout.write(stage === undefined ? prefixLines(`[${r.stage}] `, r.text, atLineStart) : r.text);
        atLineStart = r.text.endsWith('\n');
      }
    };
    await print();
    const end = (): void => {
      if (!atLineStart) process.stdout.write('\n');
    };
    if (!options.follow) {
      end();
      return EXIT.ok;
    }
    for (;;) {
      const now = (await store.getRun(run.id)) as RunRecord;
      await print();
      if (!ACTIVE.includes(now.status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    end();
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

function prefixLines(prefix: string, text: string, atLineStart: boolean): string {
  return (atLineStart ? prefix : '') + text.replace(/\n(?!$)/g, `\n${prefix}`);
}

export async function runCancel(id: string): Promise<number> {
  const store = openStore(process.cwd(), { create: false });
  try {
    const run = await findRun(store, id, false);
    if (!ACTIVE.includes(run.status) && run.status !== 'interrupted') {
      throw new UsageError(`run ${run.id} has already ended (${statusWord(run.status)})`);
    }
    const log = await EventLog.open(store, run.id);
    const at = Date.now();
    await log.append([{ type: 'run.cancel-requested', at, actor: actorName(), reason: 'otto cancel' }]);
    if (run.status === 'interrupted' || !run.owner || !ownerAlive(run.owner)) {
      // Nobody is driving the run: its unfinished attempts are over, so say so and let it end.
      const ends = endInFlight(log, 'cancelled while interrupted');
      if (ends.length) await log.append(ends);
      writeOut(`run ${run.id} cancelled`);
    } else {
      writeOut(`run ${run.id}: cancel requested; the process running it (${run.owner}) is stopping its steps`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
