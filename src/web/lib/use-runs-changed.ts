// Lists of runs refresh when the server says a run changed (/api/v1/events/runs), not on a timer,
// and at most once a second.
// While the stream is down they poll every second, as before; once it is live, only every 30 s as
// a safety net. Coming back after a drop counts as a change (something may have been missed).

import { useEffect, useRef, useState } from 'react';
import type { Api } from './api.js';
import { EventStream } from './event-stream.js';

/** Calls `onChange` when a run (of `project`, or of any project) changes; returns the poll interval to use. */
export function useRunsChanged(api: Api, project: string | undefined, onChange: () => void): number {
  const callback = useRef(onChange);
  callback.current = onChange;
  const [live, setLive] = useState(false);
  useEffect(() => {
    let connectedBefore = false;
    // At once when the list was not reloaded in the last second, else at the end of that second: a
    // busy server (runs changing all the time) costs no more requests than polling every second did.
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = (): void => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        callback.current();
      }, Math.max(0, last + 1000 - Date.now()));
    };
    const es = new EventStream({
      url: `/api/v1/events/runs${project !== undefined ? `?project=${encodeURIComponent(project)}` : ''}`,
      headers: api.headers(),
      onMessage: changed,
      onState: (state) => {
        setLive(state === 'live');
        if (state !== 'live') return;
        if (connectedBefore) changed();
        connectedBefore = true;
      },
    });
    es.start();
    return () => {
      es.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, project]);
  return live ? 30_000 : 1000;
}
