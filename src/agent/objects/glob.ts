// Archive patterns: '/'-separated globs relative to the step's directory. `*` matches any run of
// characters within one segment, `?` one character, `**` any number of whole segments; a matched
// directory brings everything below it. Dot-files match like any other name.

import { ObjectError } from './errors.js';
import { relativeSegments } from './paths.js';

export type Segment =
  | { readonly kind: 'globstar' }
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'glob'; readonly re: RegExp };

export interface Pattern {
  readonly source: string;
  readonly segments: readonly Segment[];
  /** The leading segments without wildcards: where matches can start, and what is stripped (see archiveBase). */
  readonly literalPrefix: readonly string[];
}

export function parsePattern(source: string): Pattern {
  const parts = relativeSegments(source, 'archive pattern');
  if (parts.length === 0) {
    throw new ObjectError(
      'bad-pattern',
      `archive pattern '${source}' names no files; write e.g. 'dist/**'`,
    );
  }
  const segments: Segment[] = [];
  for (const part of parts) {
    if (part === '**') {
      // 'a/**/**/b' is 'a/**/b'.
      if (segments.at(-1)?.kind !== 'globstar') segments.push({ kind: 'globstar' });
    } else if (/[*?]/.test(part)) {
      segments.push({ kind: 'glob', re: segmentRegExp(part) });
    } else {
      segments.push({ kind: 'literal', text: part });
    }
  }
  const literalPrefix: string[] = [];
  for (const s of segments) {
    if (s.kind !== 'literal') break;
    literalPrefix.push(s.text);
  }
  return { source, segments, literalPrefix };
}

function segmentRegExp(part: string): RegExp {
  let re = '';
  for (const ch of part) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export function segmentMatches(segment: Segment, name: string): boolean {
  switch (segment.kind) {
    case 'globstar':
      return true;
    case 'literal':
      return segment.text === name;
    case 'glob':
      return segment.re.test(name);
  }
}

/**
 * The directory (segments) an artifact's paths are relative to: the literal directory all patterns
 * share. 'dist/**' stores 'dist/a.js' as 'a.js', so `unarchive 'site', into: 'public'` gives
 * 'public/a.js'; a pattern without wildcards ('coverage/lcov.info', 'dist') keeps its last segment.
 * Patterns in different directories ('reports/*.xml', 'coverage/lcov.info') keep their paths.
 */
export function archiveBase(patterns: readonly Pattern[]): string[] {
  const bases = patterns.map((p) =>
    p.literalPrefix.length === p.segments.length ? p.literalPrefix.slice(0, -1) : p.literalPrefix,
  );
  const first = bases[0] ?? [];
  let n = first.length;
  for (const b of bases) {
    let i = 0;
    while (i < n && i < b.length && b[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n);
}

/** A position in a pattern during the walk: the next segment to match is `segments[index]`. */
export interface GlobState {
  readonly pattern: Pattern;
  readonly index: number;
}

/**
 * Steps every state over one directory entry `name`. `matched`: some pattern matches the entry
 * completely (a directory then counts whole); `next`: the states its children are matched with.
 */
export function advance(
  states: readonly GlobState[],
  name: string,
): { matched: boolean; next: GlobState[] } {
  let matched = false;
  const next: GlobState[] = [];
  for (const s of closure(states)) {
    const seg = s.pattern.segments[s.index];
    if (seg === undefined) continue;
    if (seg.kind === 'globstar') {
      if (s.index === s.pattern.segments.length - 1) matched = true;
      next.push(s);
    } else if (segmentMatches(seg, name)) {
      if (s.index === s.pattern.segments.length - 1) matched = true;
      else next.push({ pattern: s.pattern, index: s.index + 1 });
    }
  }
  return { matched, next: unique(next) };
}

function unique(states: GlobState[]): GlobState[] {
  if (states.length < 2) return states;
  return states.filter(
    (s, i) => states.findIndex((t) => t.pattern === s.pattern && t.index === s.index) === i,
  );
}

/** `**` also matches no segment at all: add the state after each globstar. */
function closure(states: readonly GlobState[]): GlobState[] {
  const out: GlobState[] = [];
  for (const s of states) {
    out.push(s);
    if (
      s.pattern.segments[s.index]?.kind === 'globstar' &&
      s.index + 1 < s.pattern.segments.length
    ) {
      out.push({ pattern: s.pattern, index: s.index + 1 });
    }
  }
  return out;
}
