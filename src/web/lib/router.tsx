// A small client-side router on the History API: the server answers every non-API path with the
// page, so each view (and each log line) has a URL that can be bookmarked and shared.

import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useSyncExternalStore } from 'react';

type Listener = () => void;
const listeners = new Set<Listener>();

function notify(): void {
  for (const l of listeners) l();
}

window.addEventListener('popstate', notify);
window.addEventListener('hashchange', notify);

function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The current location as one string: pathname + search + hash (stable for useSyncExternalStore). */
function snapshot(): string {
  return location.pathname + location.search + location.hash;
}

export interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly hash: string;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, location.origin);
  return { path: url.pathname, query: url.searchParams, hash: url.hash };
}

export function navigate(
  to: string,
  options: { replace?: boolean; keepScroll?: boolean } = {},
): void {
  if (to === snapshot()) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  if (!options.keepScroll && !to.includes('#')) window.scrollTo(0, 0);
  notify();
}

/** A link that navigates without reloading; modified clicks (new tab) behave as usual. */
export function Link({
  to,
  replace,
  onClick,
  ...rest
}: { to: string; replace?: boolean } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const handle = (e: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    navigate(to, replace ? { replace } : {});
  };
  return <a href={to} onClick={handle} {...rest} />;
}

/** Matches a path against a pattern like '/runs/:id/stages/*'; '*' takes the rest, decoded per segment. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const part = p[i] as string;
    if (part === '*') {
      if (i >= s.length) return null;
      out['*'] = s.slice(i).map(safeDecode).join('/');
      return out;
    }
    const seg = s[i];
    if (seg === undefined) return null;
    if (part.startsWith(':')) out[part.slice(1)] = safeDecode(seg);
    else if (part !== seg) return null;
  }
  return s.length === p.length ? out : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Builds a query string from the non-empty values. */
export function withQuery(
  path: string,
  params: Record<string, string | number | null | undefined>,
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Sets the document title for the current page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Otto` : 'Otto';
  }, [title]);
}
