// The gate host for a process: routes each gate to the input, webhook or poll mechanism.

import type { Store } from '../../store/store.js';
import type { DecideGate, GateHost, OpenGate } from '../gates.js';
import type { GatePhase } from '../events.js';
import { newCallbackToken, type CallbackTokens } from './callbacks.js';
import { type InputGates } from './input.js';
import { PollGates } from './poll.js';

export interface GateHostOptions {
  readonly store: Store;
  readonly input: InputGates;
  /** Where callbacks for webhook gates can be sent (a loopback listener, or the server's URL). */
  readonly callbackBase: () => Promise<string>;
  /** Tells people what a gate waits for (a callback URL, say). */
  readonly announce: (message: string) => void;
  /** URLs already handed to stages as $OTTO_CALLBACK_URL. */
  readonly callbacks?: CallbackTokens;
}

export class ProcessGateHost implements GateHost {
  private readonly polls = new PollGates();

  constructor(private readonly options: GateHostOptions) {}

  async open(gate: OpenGate, decide: DecideGate): Promise<{ tokenHash?: string } | undefined> {
    switch (gate.gate.kind) {
      case 'input':
        void this.options.input.openGate(gate, decide);
        return undefined;
      case 'poll':
        this.polls.open(gate, decide);
        return undefined;
      case 'webhook': {
        if (this.options.callbacks?.handedOut(gate.runId, gate.stage, gate.phase, gate.index)) {
          this.options.announce(`run ${gate.runId} is waiting: stage '${gate.stage}' waits for ${gate.gate.description} (its steps were given the callback URL as $OTTO_CALLBACK_URL)`);
          return undefined;
        }
        // A fresh token each time the gate opens (also after a restart: only hashes are kept).
        const { token, hash } = newCallbackToken();
        await this.options.store.createGateToken(hash, { runId: gate.runId, stage: gate.stage, phase: gate.phase, index: gate.index }, Date.now());
        const url = `${await this.options.callbackBase()}/api/v1/callbacks/${token}`;
        this.options.announce(
          `run ${gate.runId} is waiting: stage '${gate.stage}' waits for ${gate.gate.description}. Complete it with:\n  curl -X POST -H 'content-type: application/json' -d '{"status":"success"}' ${url}\n  or: otto callback ${token} success`,
        );
        return { tokenHash: hash };
      }
    }
  }

  close(runId: string, stage: string, phase: GatePhase, index: number): void {
    this.options.input.close({ stage, phase, index });
    this.polls.close(runId, stage, phase, index);
  }

  closeAll(): void {
    this.polls.closeAll();
  }
}
