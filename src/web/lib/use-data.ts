// Loading data for a page, optionally kept fresh by polling while the tab is visible (lists of runs
// reload on the server's runs-changed stream and poll only as a fallback, use-runs-changed.ts; a
// run page uses the run's event stream instead).

import { useCallback, useEffect, useRef, useState } from 'react';

export interface Data<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

export function useData<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: { pollMs?: number; enabled?: boolean } = {},
): Data<T> {
  const [state, setState] = useState<{
    data: T | undefined;
    error: Error | undefined;
    loading: boolean;
  }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const enabled = options.enabled ?? true;

  // A change of what is loaded clears the old data; a poll or reload keeps it on screen.
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let busy = false;
    const run = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const data = await loadRef.current(controller.signal);
        if (!stopped) setState({ data, error: undefined, loading: false });
      } catch (e) {
        if (!stopped && !(e instanceof DOMException && e.name === 'AbortError'))
          setState((s) => ({ data: s.data, error: e as Error, loading: false }));
      } finally {
        busy = false;
      }
      if (!stopped && options.pollMs) schedule();
    };
    const schedule = (): void => {
      timer = setTimeout(() => {
        if (document.visibilityState === 'hidden') schedule();
        else void run();
      }, options.pollMs);
    };
    const onVisible = (): void => {
      if (document.visibilityState === 'visible' && options.pollMs) {
        if (timer) clearTimeout(timer);
        void run();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    void run();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, enabled, options.pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The current time, updated every `ms` (for durations of things still running). */
export function useNow(ms = 1000, active = true): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}
