// Where gates wait: the orchestrator holds no agent while a gate is open (DESIGN.md §1.3).

import type { Plan, PlanGate } from '../protocol/plan.js';
import type { GateDecision, GatePhase } from './events.js';

export interface OpenGate {
  readonly runId: string;
  readonly plan: Plan;
  readonly stage: string;
  readonly phase: GatePhase;
  readonly index: number;
  readonly gate: PlanGate;
  /** When the gate times out (ms since the epoch). */
  readonly deadline: number;
  /** True when the gate was already open before a restart. */
  readonly reopening: boolean;
}

export type DecideGate = (decision: GateDecision, actor: string, comment: string) => void;

/** Opens gates of one kind or another: a prompt, a callback URL, a poller. */
export interface GateHost {
  open(gate: OpenGate, decide: DecideGate): Promise<{ tokenHash?: string } | undefined>;
  close(runId: string, stage: string, phase: GatePhase, index: number): void;
}
