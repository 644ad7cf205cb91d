// Webhook callbacks: single-use tokens, stored only as hashes, turned into gate decisions.
// Shared by the local callback listener, `otto callback` and the server's callback route.

import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../../store/store.js';
import { EventLog } from '../event-log.js';

export function newCallbackToken(): { token: string; hash: string } {
  // A prefix, so that no token starts with '-': `otto callback TOKEN` would read one as an option
  // (one token in 64 did, and the command refused it).
  const token = `cb_${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export type CallbackResult =
  | { readonly ok: true; readonly runId: string; readonly stage: string; readonly decision: 'passed' | 'failed' }
  | { readonly ok: false; readonly status: 400 | 404 | 409; readonly code: string; readonly message: string };

export interface CallbackBody {
  readonly status?: unknown;
  readonly message?: unknown;
}

/** Validates a callback, spends its token and records the gate's decision in the run's log. */
export async function acceptCallback(store: Store, token: string, body: CallbackBody, actor: string, at: number): Promise<CallbackResult> {
  if (body.status !== 'success' && body.status !== 'failure') {
    return { ok: false, status: 400, code: 'bad_request', message: 'the body must be {"status": "success" | "failure", "message"?: string}' };
  }
  if (body.message !== undefined && typeof body.message !== 'string') {
    return { ok: false, status: 400, code: 'bad_request', message: '"message" must be a string' };
  }
  const used = await store.useGateToken(hashToken(token), at);
  if (!used.ok) {
    return used.reason === 'used'
      ? { ok: false, status: 409, code: 'token_used', message: 'this callback token has already been used' }
      : { ok: false, status: 404, code: 'unknown_token', message: 'no gate waits for this callback token' };
  }
  const decision = body.status === 'success' ? 'passed' : 'failed';
  const log = await EventLog.open(store, used.gate.runId);
  await log.append([
    { type: 'gate.decided', at, stage: used.gate.stage, phase: used.gate.phase, index: used.gate.index, decision, actor, comment: typeof body.message === 'string' ? body.message : '' },
  ]);
  return { ok: true, runId: used.gate.runId, stage: used.gate.stage, decision };
}

/**
 * Callback URLs handed out ahead of time: a stage whose exit gate is a webhook gets its URL as
 * $OTTO_CALLBACK_URL (and _2, _3 … for more), so its steps can pass it to the system that calls
 * back. The gate then uses that token instead of minting another.
 */
export class CallbackTokens {
  private readonly minted = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly base: () => Promise<string>,
  ) {}

  async forStage(runId: string, stage: { path: string; gates: { exit: ReadonlyArray<{ kind: string }> } }): Promise<{ env: Record<string, string>; masks: string[] }> {
    const env: Record<string, string> = {};
    const masks: string[] = [];
    let n = 0;
    for (const [index, gate] of stage.gates.exit.entries()) {
      if (gate.kind !== 'webhook') continue;
      const { token, hash } = newCallbackToken();
      await this.store.createGateToken(hash, { runId, stage: stage.path, phase: 'exit', index }, Date.now());
      this.minted.add(key(runId, stage.path, 'exit', index));
      n++;
      env[n === 1 ? 'OTTO_CALLBACK_URL' : `OTTO_CALLBACK_URL_${n}`] = `${await this.base()}/api/v1/callbacks/${token}`;
      masks.push(token);
    }
    return { env, masks };
  }

  /** Whether the stage was given this gate's callback URL. */
  handedOut(runId: string, stage: string, phase: string, index: number): boolean {
    return this.minted.has(key(runId, stage, phase, index));
  }
}

function key(runId: string, stage: string, phase: string, index: number): string {
  return `${runId}\0${stage}\0${phase}\0${index}`;
}
