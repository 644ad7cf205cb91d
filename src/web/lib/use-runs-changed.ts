// Lists of runs refresh when the server says a run changed (/api/v1/events/runs), not on a timer.
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
    const es = new EventStream({
      url: `/api/v1/events/runs${project !== undefined ? `?project=${encodeURIComponent(project)}` : ''}`,
      headers: api.headers(),
      onMessage: () => callback.current(),
      onState: (state) => {
        setLive(state === 'live');
        if (state !== 'live') return;
        if (connectedBefore) callback.current();
        connectedBefore = true;
      },
    });
    es.start();
    return () => es.close();
  }, [api, project]);
  return live ? 30_000 : 1000;
}
