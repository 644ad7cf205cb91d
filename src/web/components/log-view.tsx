// A stage's log: streamed in (followed while the stage runs), virtualised so only the visible
// lines exist in the page, with ANSI colours, search, follow mode and a link for every line
// (#L12 or #L12-L20). Logs taller than a browser can scroll are mapped onto a shorter scrollbar.

import {
  type KeyboardEvent,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { type Api, ApiError, saveBlob } from '../lib/api.js';
import { parseAnsi, type Segment, visibleLine } from '../lib/ansi.js';
import { LogLines } from '../lib/log-lines.js';
import { plural } from '../lib/format.js';

const LINE = 18;
/** The tallest scroll area used; longer logs scroll proportionally (browsers cap element heights). */
const MAX_PX = 4_000_000;

export interface LogViewProps {
  readonly api: Api;
  readonly runId: string;
  readonly stage: string;
  readonly attempt?: number;
  /** Whether the stage may still write (then the log is followed). */
  readonly active: boolean;
  /** Start at the end even when not following (a failed stage: the error is at the end). */
  readonly startAtEnd?: boolean;
  /** The line range from the URL hash, 1-based and inclusive. */
  readonly selected?: { from: number; to: number } | null;
  readonly onSelect?: (range: { from: number; to: number }) => void;
}

type LoadState =
  | { kind: 'loading' }
  | { kind: 'streaming' }
  | { kind: 'done' }
  | { kind: 'error'; message: string }
  | { kind: 'reconnecting' };

function useLogStream(
  api: Api,
  url: (follow: boolean) => string,
  active: boolean,
  key: string,
): { lines: LogLines; version: number; state: LoadState } {
  const [lines, setLines] = useState(() => new LogLines());
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<LoadState>({ kind: 'loading' });
  const activeRef = useRef(active);
  activeRef.current = active;
  const urlRef = useRef(url);
  urlRef.current = url;

  useEffect(() => {
    const store = new LogLines();
    setLines(store);
    setVersion(0);
    setState({ kind: 'loading' });
    const controller = new AbortController();
    let frame = 0;
    const bump = (): void => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setVersion(store.version);
      });
    };
    const load = async (): Promise<void> => {
      for (let tries = 0; !controller.signal.aborted; tries++) {
        const follow = activeRef.current;
        // A reconnected follow stream starts from the beginning again: skip what is already here.
        let skip = store.received;
        try {
          const response = await fetch(urlRef.current(follow), {
            headers: api.headers(),
            signal: controller.signal,
            cache: 'no-store',
          });
          if (!response.ok) {
            const body = (await response.json().catch(() => ({}))) as {
              error?: { message?: string };
            };
            throw new ApiError(
              response.status,
              'http',
              body.error?.message ?? `${response.status} ${response.statusText}`,
            );
          }
          setState({ kind: 'streaming' });
          const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            let chunk = value;
            if (skip > 0) {
              const n = Math.min(skip, chunk.length);
              chunk = chunk.slice(n);
              skip -= n;
            }
            if (chunk) {
              store.append(chunk);
              bump();
            }
          }
          if (!follow || !activeRef.current) {
            performance.mark('otto:log:loaded');
            setState({ kind: 'done' });
            bump();
            return;
          }
          // The follow stream ended while the page still thinks the stage runs: it may have just
          // finished (the event is on its way); read once more to be sure nothing is missed.
        } catch (e) {
          if (controller.signal.aborted) return;
          if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
            setState({ kind: 'error', message: e.message });
            return;
          }
          setState({ kind: 'reconnecting' });
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (tries + 1))));
      }
    };
    void load();
    return () => {
      controller.abort();
      if (frame) cancelAnimationFrame(frame);
    };
    // `active` is read through a ref: a stage that finishes must not restart its stream.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key]);
  return { lines, version, state };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function classesOf(seg: Segment): { className: string; style: React.CSSProperties | undefined } {
  const s = seg.style;
  const cls: string[] = [];
  let style: React.CSSProperties | undefined;
  const fg = s.inverse ? s.bg : s.fg;
  const bg = s.inverse ? (s.fg ?? 'ansi-default-fg') : s.bg;
  if (fg) {
    if (fg.startsWith('ansi-')) cls.push(`fg-${fg}`);
    else (style ??= {}).color = fg;
  }
  if (bg) {
    if (bg.startsWith('ansi-')) cls.push(`bg-${bg}`);
    else (style ??= {}).backgroundColor = bg;
  }
  if (s.bold) cls.push('b');
  if (s.dim) cls.push('dim');
  if (s.italic) cls.push('i');
  if (s.underline) cls.push('u');
  return { className: cls.join(' '), style };
}

function highlight(text: string, re: RegExp | null): React.ReactNode {
  if (!re || !text) return text;
  const parts: React.ReactNode[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') break;
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(<mark key={m.index}>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  if (last === 0) return text;
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function LogLine({ text, re }: { text: string; re: RegExp | null }) {
  const segments = parseAnsi(visibleLine(text));
  if (segments.length === 1 && !Object.keys((segments[0] as Segment).style).length)
    return <>{highlight((segments[0] as Segment).text, re)}</>;
  return (
    <>
      {segments.map((seg, i) => {
        const { className, style } = classesOf(seg);
        return (
          <span key={i} className={className || undefined} style={style}>
            {highlight(seg.text, re)}
          </span>
        );
      })}
    </>
  );
}

export function LogView({
  api,
  runId,
  stage,
  attempt,
  active,
  startAtEnd = false,
  selected,
  onSelect,
}: LogViewProps) {
  const key = `${runId}\0${stage}\0${attempt ?? ''}`;
  const url = useCallback(
    (follow: boolean) =>
      api.logUrl(runId, stage, { follow, ...(attempt !== undefined ? { attempt } : {}) }),
    [api, runId, stage, attempt],
  );
  const { lines, version, state } = useLogStream(api, url, active, key);
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState(400);
  const [topPx, setTopPxState] = useState(0);
  const topRef = useRef(0);
  const expectedScroll = useRef(-1);
  const [follow, setFollow] = useState(active || (startAtEnd && !selected));
  const followRef = useRef(follow);
  followRef.current = follow;
  const [query, setQuery] = useState('');
  const [matches, setMatches] = useState<number[]>([]);
  const [current, setCurrent] = useState(-1);
  const scrolledToSelection = useRef<string>('');

  useEffect(() => {
    setFollow(active || (startAtEnd && !selected));
    setQuery('');
    setMatches([]);
    setCurrent(-1);
    topRef.current = 0;
    setTopPxState(0);
    scrolledToSelection.current = '';
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const count = lines.count;
  const totalPx = count * LINE + 8;
  const maxTop = Math.max(0, totalPx - viewport);
  const contentPx = Math.min(totalPx, MAX_PX);
  const maxScroll = Math.max(0, contentPx - viewport);
  const ratio = maxScroll > 0 ? maxTop / maxScroll : 1;

  const setTop = useCallback(
    (px: number) => {
      const clamped = Math.max(0, Math.min(maxTop, px));
      topRef.current = clamped;
      setTopPxState(clamped);
      const el = scroller.current;
      if (el) {
        el.scrollTop = clamped / ratio;
        expectedScroll.current = el.scrollTop;
      }
    },
    [maxTop, ratio],
  );

  // The viewport's height follows the element's.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight || 400));
    ro.observe(el);
    setViewport(el.clientHeight || 400);
    return () => ro.disconnect();
  }, []);

  // Following: stay at the end as lines arrive.
  useLayoutEffect(() => {
    if (followRef.current) setTop(Number.MAX_SAFE_INTEGER);
  }, [version, viewport, follow, setTop]);

  // A linked line: scroll it into the middle once it has arrived.
  useLayoutEffect(() => {
    if (!selected) return;
    const id = `${key}:${selected.from}`;
    if (scrolledToSelection.current === id || selected.from > count) return;
    scrolledToSelection.current = id;
    setFollow(false);
    setTop((selected.from - 1) * LINE - viewport / 3);
  }, [selected, count, key, viewport, setTop]);

  // Wheel scrolling when the scrollbar is scaled: move by pixels of content, not of scrollbar.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onWheel = (e: WheelEvent): void => {
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) return;
      const unit = e.deltaMode === 1 ? LINE : e.deltaMode === 2 ? viewport : 1;
      if (e.deltaY < 0) setFollow(false);
      if (ratio <= 1.01) return;
      e.preventDefault();
      setTop(topRef.current + e.deltaY * unit);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [ratio, viewport, setTop]);

  const onScroll = (): void => {
    const el = scroller.current;
    if (!el) return;
    if (Math.abs(el.scrollTop - expectedScroll.current) < 1) return;
    expectedScroll.current = el.scrollTop;
    const px = Math.min(maxTop, el.scrollTop * ratio);
    topRef.current = px;
    setTopPxState(px);
    const atEnd = px >= maxTop - LINE;
    if (atEnd !== followRef.current && (atEnd ? active : true)) setFollow(atEnd);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const page = Math.max(LINE, viewport - LINE * 2);
    const moves: Record<string, number> = {
      ArrowDown: LINE,
      ArrowUp: -LINE,
      PageDown: page,
      PageUp: -page,
      ' ': e.shiftKey ? -page : page,
    };
    if (e.key === 'Home') {
      setFollow(false);
      setTop(0);
    } else if (e.key === 'End') {
      setTop(Number.MAX_SAFE_INTEGER);
      if (active) setFollow(true);
    } else if (moves[e.key] !== undefined) {
      if ((moves[e.key] as number) < 0) setFollow(false);
      setTop(topRef.current + (moves[e.key] as number));
    } else return;
    e.preventDefault();
  };

  // Search: debounced while typing, then at the first match from the top of the view; while the
  // log grows only the new lines are searched. Enter and the buttons move between matches.
  const searched = useRef<{ query: string; store: LogLines | null; upTo: number; found: number[] }>(
    { query: '', store: null, upTo: 0, found: [] },
  );
  const search = useCallback(
    (q: string): { found: number[]; fresh: boolean } => {
      const last = searched.current;
      const fresh = last.query !== q || last.store !== lines;
      // The last line may have grown since: search it again with the new ones.
      const from = fresh ? 0 : Math.max(0, last.upTo - 1);
      const found = fresh
        ? lines.search(q)
        : last.found.filter((i) => i < from).concat(lines.search(q, from));
      searched.current = { query: q, store: lines, upTo: lines.count, found };
      return { found, fresh };
    },
    [lines],
  );

  const jumpTo = useCallback(
    (list: number[], index: number) => {
      if (!list.length) return;
      const i = ((index % list.length) + list.length) % list.length;
      setCurrent(i);
      setFollow(false);
      setTop((list[i] as number) * LINE - viewport / 3);
    },
    [viewport, setTop],
  );

  useEffect(() => {
    if (!query) {
      searched.current = { query: '', store: null, upTo: 0, found: [] };
      setMatches([]);
      setCurrent(-1);
      return;
    }
    const t = setTimeout(() => {
      const { found, fresh } = search(query);
      setMatches(found);
      if (fresh) {
        const top = Math.floor(topRef.current / LINE);
        const next = found.findIndex((i) => i >= top);
        if (found.length) jumpTo(found, next < 0 ? 0 : next);
        else setCurrent(-1);
      }
    }, 200);
    return () => clearTimeout(t);
  }, [query, version, search, jumpTo]);

  const goTo = (index: number): void => {
    if (searched.current.query !== query || searched.current.store !== lines) {
      // Enter before the debounced search ran: search now and go to the first match.
      const { found } = search(query);
      setMatches(found);
      jumpTo(found, 0);
      return;
    }
    jumpTo(matches, index);
  };

  // A short finished log takes only the room it needs.
  const short = !active && state.kind === 'done' && totalPx + 6 < window.innerHeight * 0.5;
  const re = useMemo(() => (query ? new RegExp(escapeRegExp(query), 'gi') : null), [query]);
  const matchSet = useMemo(() => new Set(matches), [matches]);
  const first = Math.floor(topPx / LINE);
  const offset = topPx - first * LINE;
  const visible = Math.ceil(viewport / LINE) + 2;
  const rows = [];
  for (let i = first; i < Math.min(count, first + visible); i++) {
    const n = i + 1;
    const isSelected = !!selected && n >= selected.from && n <= selected.to;
    const isCurrent = current >= 0 && matches[current] === i;
    rows.push(
      <div
        key={i}
        className={`log-line${isSelected ? ' selected' : ''}${isCurrent ? ' current-match' : matchSet.has(i) ? ' has-match' : ''}`}
        data-line={n}
      >
        <a
          className="ln"
          href={`#L${n}`}
          tabIndex={-1}
          aria-label={`line ${n}`}
          onClick={(e) => {
            e.preventDefault();
            const range =
              e.shiftKey && selected
                ? { from: Math.min(selected.from, n), to: Math.max(selected.from, n) }
                : { from: n, to: n };
            onSelect?.(range);
          }}
        >
          {n}
        </a>
        <span className="lt">
          <LogLine text={lines.line(i)} re={re} />
        </span>
      </div>,
    );
  }

  const status =
    state.kind === 'loading'
      ? 'loading…'
      : state.kind === 'reconnecting'
        ? 'connection lost, reconnecting…'
        : state.kind === 'error'
          ? state.message
          : state.kind === 'streaming' && active
            ? `${plural(count, 'line')}, following the stage`
            : plural(count, 'line');

  return (
    <section className="log" aria-label={`Log of stage ${stage}`}>
      <div className="log-toolbar" role="toolbar" aria-label="Log tools">
        <label className="search">
          <span className="visually-hidden">Search the log</span>
          <input
            type="search"
            placeholder="Search the log"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                goTo(e.shiftKey ? current - 1 : current + 1);
              }
            }}
          />
        </label>
        <span className="match-count" aria-live="polite">
          {query
            ? matches.length
              ? `${current >= 0 ? current + 1 : 0} of ${matches.length.toLocaleString()}${matches.length >= 100_000 ? '+' : ''}`
              : 'no match'
            : ''}
        </span>
        <button
          type="button"
          onClick={() => goTo(current - 1)}
          disabled={!matches.length}
          aria-label="Previous match"
        >
          ↑
        </button>
        <button
          type="button"
          onClick={() => goTo(current + 1)}
          disabled={!matches.length}
          aria-label="Next match"
        >
          ↓
        </button>
        <button
          type="button"
          aria-pressed={follow}
          onClick={() => {
            const next = !follow;
            setFollow(next);
            if (next) setTop(Number.MAX_SAFE_INTEGER);
          }}
        >
          {follow ? 'Following' : 'Follow'}
        </button>
        <button
          type="button"
          onClick={() =>
            saveBlob(
              new Blob([lines.text()], { type: 'text/plain' }),
              `run-${runId}-${stage.replace(/\//g, '_')}.log`,
            )
          }
          disabled={!count}
        >
          Download
        </button>
        <span className="log-state" role="status" data-state={state.kind}>
          {status}
        </span>
      </div>
      <div
        ref={scroller}
        className="log-scroller"
        tabIndex={0}
        role="log"
        aria-label={`Log output, ${plural(count, 'line')}; arrow keys, Page Up and Page Down scroll`}
        aria-live="off"
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        data-lines={count}
        data-first-line={first + 1}
        style={short ? { height: Math.max(96, totalPx + 6), minHeight: 0 } : undefined}
      >
        <div className="log-window">
          <div className="log-rows" style={{ transform: `translateY(${-offset}px)` }}>
            {count === 0 && state.kind !== 'loading' ? (
              <div className="log-empty">
                {state.kind === 'error'
                  ? state.message
                  : active
                    ? 'No output yet.'
                    : 'This stage wrote nothing.'}
              </div>
            ) : (
              rows
            )}
          </div>
        </div>
        <div style={{ height: Math.max(0, contentPx - viewport) }} aria-hidden="true" />
      </div>
    </section>
  );
}

/** Reads '#L12' or '#L12-L20' (also '#L12-20'). */
export function parseLineHash(hash: string): { from: number; to: number } | null {
  const m = /^#L(\d+)(?:-L?(\d+))?$/.exec(hash);
  if (!m) return null;
  const from = Number(m[1]);
  const to = m[2] ? Number(m[2]) : from;
  return from > 0 ? { from: Math.min(from, to), to: Math.max(from, to) } : null;
}

export function lineHash(range: { from: number; to: number }): string {
  return range.from === range.to ? `#L${range.from}` : `#L${range.from}-L${range.to}`;
}
