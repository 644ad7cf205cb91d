// A job's stop signal: fires when the job is cancelled or its time limit passes, and remembers which.

export class JobClock {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private timer: NodeJS.Timeout | null = null;
  /** Why the job is being stopped, or null while it may go on. */
  stopped: { readonly kind: 'timeout' | 'cancel'; readonly message: string } | null = null;

  /** `timeoutMs` ≤ 0 means no limit. */
  constructor(
    timeoutMs: number,
    private readonly external: AbortSignal,
  ) {
    this.deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    if (Number.isFinite(this.deadline)) {
      this.timer = setTimeout(
        () => this.stop('timeout', `the stage timed out after ${formatMs(timeoutMs)}`),
        timeoutMs,
      );
    }
    if (external.aborted) this.onAbort();
    else external.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Aborted on cancel or timeout: what steps and object ops listen to. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.external.removeEventListener('abort', this.onAbort);
  }

  private readonly onAbort = (): void => {
    const reason: unknown = this.external.reason;
    const why = typeof reason === 'string' && reason !== '' ? `: ${reason}` : '';
    this.stop('cancel', `the stage was cancelled${why}`);
  };

  private stop(kind: 'timeout' | 'cancel', message: string): void {
    if (this.stopped !== null) return;
    this.stopped = { kind, message };
    this.controller.abort(message);
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 120) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest === 0 ? `${m}m` : `${m}m${rest}s`;
}
