// Input gates: a person approves or rejects — answered in advance (--approve, --yes), at a prompt
// on the terminal, or from anywhere else with `otto approve` (the orchestrator sees that event).

import type { DecideGate, OpenGate } from '../gates.js';

export interface Prompter {
  /** Asks at the terminal; resolves with the answer, or undefined if the prompt was withdrawn. */
  ask(question: string, gate: OpenGate): Promise<{ approved: boolean; comment: string } | undefined>;
  /** Withdraws a question that was answered elsewhere. */
  withdraw(gate: OpenGate): void;
}

export interface InputGatesOptions {
  /** Stage paths approved in advance, or 'all' for --yes. */
  readonly preApproved: ReadonlySet<string> | 'all';
  /** Who is at this terminal (checked against a gate's approvers). */
  readonly actor: string;
  readonly prompter?: Prompter;
  /** Tells the person how to answer when there is no prompt. */
  readonly announce: (message: string) => void;
}

export class InputGates {
  private readonly open = new Map<string, OpenGate>();

  constructor(private readonly options: InputGatesOptions) {}

  async openGate(gate: OpenGate, decide: DecideGate): Promise<void> {
    if (gate.gate.kind !== 'input') return;
    const may = gate.gate.approvers.length === 0 || gate.gate.approvers.includes(this.options.actor);
    const pre = this.options.preApproved;
    if (may && (pre === 'all' || pre.has(gate.stage))) {
      decide('approved', this.options.actor, pre === 'all' ? 'approved in advance (--yes)' : 'approved in advance (--approve)');
      return;
    }
    const how = `otto approve ${gate.runId} ${quote(gate.stage)} (or --reject, with --comment TEXT)`;
    if (!may || !this.options.prompter) {
      this.options.announce(
        `run ${gate.runId} is waiting: stage '${gate.stage}' asks "${gate.gate.message}"${gate.gate.approvers.length ? ` (approvers: ${gate.gate.approvers.join(', ')})` : ''} — answer with: ${how}`,
      );
      return;
    }
    this.open.set(key(gate), gate);
    const answer = await this.options.prompter.ask(gate.gate.message, gate);
    this.open.delete(key(gate));
    if (answer) decide(answer.approved ? 'approved' : 'rejected', this.options.actor, answer.comment);
  }

  close(gate: Pick<OpenGate, 'stage' | 'phase' | 'index'>): void {
    const g = this.open.get(key(gate));
    if (g) {
      this.open.delete(key(gate));
      this.options.prompter?.withdraw(g);
    }
  }
}

function key(g: Pick<OpenGate, 'stage' | 'phase' | 'index'>): string {
  return `${g.stage}\0${g.phase}\0${g.index}`;
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
