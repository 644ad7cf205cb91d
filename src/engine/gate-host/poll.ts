// Poll gates: the orchestrator requests a URL until it answers as expected, or the wait times out.

import type { DecideGate, OpenGate } from '../gates.js';
import { fetchFailure, httpFetch } from '../../util/http-fetch.js';

export class PollGates {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  open(gate: OpenGate, decide: DecideGate): void {
    if (gate.gate.kind !== 'poll') return;
    const g = gate.gate;
    const k = `${gate.runId}\0${gate.stage}\0${gate.phase}\0${gate.index}`;
    let last = 'no answer yet';
    const attempt = async (): Promise<void> => {
      if (!this.timers.has(k)) return;
      const left = gate.deadline - Date.now();
      if (left <= 0) {
        this.stop(k);
        decide('timed_out', 'otto', `poll of ${g.url} timed out; last: ${last}`);
        return;
      }
      try {
        const res = await httpFetch(g.url, { signal: AbortSignal.timeout(Math.min(10_000, Math.max(100, left))), redirect: 'follow' });
        const body = g.contains ? await res.text() : '';
        if (res.status === g.expect && (!g.contains || body.includes(g.contains))) {
          this.stop(k);
          decide('passed', 'otto', `${g.url} answered ${res.status}`);
          return;
        }
        last = `HTTP ${res.status}${g.contains && res.status === g.expect ? ` without "${g.contains}"` : ''}`;
      } catch (e) {
        last = fetchFailure(e);
      }
      if (!this.timers.has(k)) return;
      const next = setTimeout(() => void attempt(), Math.min(g.intervalMs, Math.max(0, gate.deadline - Date.now())));
      next.unref();
      this.timers.set(k, next);
    };
    const first = setTimeout(() => void attempt(), 0);
    first.unref();
    this.timers.set(k, first);
  }

  close(runId: string, stage: string, phase: string, index: number): void {
    this.stop(`${runId}\0${stage}\0${phase}\0${index}`);
  }

  private stop(k: string): void {
    const t = this.timers.get(k);
    if (t) clearTimeout(t);
    this.timers.delete(k);
  }

  closeAll(): void {
    for (const k of [...this.timers.keys()]) this.stop(k);
  }
}
