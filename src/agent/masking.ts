// Streaming secret masking: replaces every encoded form of every secret in process output with ***.
//
// The masker works on bytes, before output is decoded, so a secret split across pipe reads or a
// multi-byte character split across reads are both handled before any text exists. Matching uses a
// Wu–Manber style shift table over byte pairs: on text that contains no secret it looks at roughly
// one position in (shortest pattern − 1), which is what makes 20 secrets × ~6 forms each cheap
// (a RegExp alternation of the same ~120 literals measured 3–5× slower here).

/**
 * Secrets shorter than this are not masked at all, and a form or a line of a secret shorter than this
 * is not masked on its own. A 1–3 character value occurs all over ordinary output ("a", "42", "dev"):
 * masking it would make logs unreadable while the pattern of *** would reveal the value anyway, so it
 * buys no secrecy. The runner warns (by variable name, never value) when a secret is this short.
 * Lines of a multi-line secret shorter than this ("}", "", "--") are ordinary text on their own; the
 * whole secret and its longer lines are still masked.
 */
export const MIN_SECRET_LENGTH = 4;

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

/** Every text form of `value` that is masked (before the length rule), deduplicated. */
export function secretForms(value: string): string[] {
  if (value.length < MIN_SECRET_LENGTH) return [];
  const forms = new Set<string>([value]);
  const bytes = Buffer.from(value, 'utf8');
  for (const b64 of base64Forms(bytes)) {
    forms.add(b64);
    forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')); // base64url (JWTs)
  }
  for (const b64 of base64Forms(bytes)) {
    // `base64` (76 columns) and PEM-style tools (64 columns) wrap long output: mask each full line.
    for (const width of [76, 64]) {
      if (b64.length <= width) continue;
      for (let i = 0; i + width <= b64.length; i += width) forms.add(b64.slice(i, i + width));
    }
  }
  const uri = encodeURIComponent(value);
  // RFC 3986 encoders (Python's quote, curl --data-urlencode) also escape !'()* ; Python keeps '/'.
  const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  for (const u of [uri, strict, uri.replace(/%2F/g, '/'), strict.replace(/%2F/g, '/')]) {
    forms.add(u);
    forms.add(u.replace(/%20/g, '+'));
    forms.add(u.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  }
  forms.add(new URLSearchParams({ v: value }).toString().slice(2)); // WHATWG form encoding: also !'()~
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  // Python's json.dumps (ensure_ascii) and others escape every non-ASCII character as \uXXXX.
  forms.add(
    json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r?\n|\r/)) forms.add(line.trim());
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/**
 * The base64 of the value alone (with padding), and for each of the three byte alignments the value
 * can have inside a longer base64 blob, the characters that depend only on the value's own bytes
 * (the first and last character of an aligned run mix in neighbouring bytes, so they are dropped).
 */
function base64Forms(bytes: Buffer): string[] {
  const out = [bytes.toString('base64')];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const start = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + bytes.length)) / 6);
    if (end > start) out.push(encoded.slice(start, end));
  }
  return out;
}

/** The longest prefix of each pattern the shift table looks at; keeps shifts within a byte. */
const MAX_WINDOW = 64;

/** An immutable set of patterns; `stream()` gives a per-stream masking state. */
export class Masker {
  /** Patterns grouped by their first two bytes, longest first: index (b0 << 8) | b1. */
  private readonly buckets: (Buffer[] | undefined)[] = [];
  /** Patterns grouped by first byte, for the end-of-chunk prefix check. */
  private readonly byFirst: (Buffer[] | undefined)[] = [];
  private readonly shift = new Uint8Array(1 << 16);
  private readonly window: number;
  readonly maxLength: number;
  readonly patternCount: number;

  constructor(values: Iterable<string>) {
    const set = new Set<string>();
    for (const v of values) for (const f of secretForms(v)) set.add(f);
    const patterns = [...set]
      .map((s) => Buffer.from(s, 'utf8'))
      .sort((a, b) => b.length - a.length);
    this.patternCount = patterns.length;
    this.maxLength = patterns[0]?.length ?? 0;
    // Forms are at least MIN_SECRET_LENGTH characters, so at least that many bytes.
    this.window = Math.min(MAX_WINDOW, patterns.at(-1)?.length ?? MIN_SECRET_LENGTH);
    const m = this.window;
    this.shift.fill(m - 1);
    for (const p of patterns) {
      for (let j = 1; j < m; j++) {
        const h = (p[j - 1]! << 8) | p[j]!;
        const s = m - 1 - j;
        if (this.shift[h]! > s) this.shift[h] = s;
      }
      (this.buckets[(p[0]! << 8) | p[1]!] ??= []).push(p);
      (this.byFirst[p[0]!] ??= []).push(p);
    }
  }

  get empty(): boolean {
    return this.patternCount === 0;
  }

  stream(): MaskStream {
    return new MaskStream(this);
  }

  /** Masks a complete text (system lines, EMIT messages). */
  maskText(text: string): string {
    if (this.empty) return text;
    const buf = Buffer.from(text, 'utf8');
    const spans = this.find(buf, buf.length);
    return spans.length === 0 ? text : splice(buf, spans, buf.length).toString('utf8');
  }

  /**
   * Every byte range of `buf[0, end)` covered by some pattern, merged where occurrences overlap (so
   * two overlapping secrets leave nothing of either), as flat [start, end, start, end, …].
   *
   * The scan is bound by the latency of its dependent loads (byte pair → shift → next position), so
   * two halves of the buffer are scanned in one loop: two independent chains run ~1.7× faster here.
   */
  find(buf: Buffer, end: number): number[] {
    const m = this.window;
    const shift = this.shift;
    const low: number[] = [];
    if (end < 4096) {
      this.scan(buf, m - 1, end, end, low);
      return low;
    }
    const high: number[] = [];
    // Lane a tries window starts [0, mid), lane b [mid, end − m]; i and j are the windows' last bytes.
    const stopA = (end >> 1) + m - 1;
    let i = m - 1;
    let j = stopA;
    while (i < stopA && j < end) {
      const s = shift[(buf[i - 1]! << 8) | buf[i]!]!;
      const t = shift[(buf[j - 1]! << 8) | buf[j]!]!;
      if (s === 0) this.verify(buf, i++ - m + 1, end, low);
      else i += s;
      if (t === 0) this.verify(buf, j++ - m + 1, end, high);
      else j += t;
    }
    this.scan(buf, i, stopA, end, low);
    this.scan(buf, j, end, end, high);
    for (let k = 0; k < high.length; k += 2) addSpan(low, high[k]!, high[k + 1]!);
    return low;
  }

  /** One lane: windows whose last byte is in [from, stop), matches within buf[0, end). */
  private scan(buf: Buffer, from: number, stop: number, end: number, out: number[]): void {
    const m = this.window;
    const shift = this.shift;
    let i = from;
    while (i < stop) {
      const s = shift[(buf[i - 1]! << 8) | buf[i]!]!;
      if (s === 0) this.verify(buf, i++ - m + 1, end, out);
      else i += s;
    }
  }

  /** Records the longest pattern occurring at `start`, if any. */
  private verify(buf: Buffer, start: number, end: number, out: number[]): void {
    const list = this.buckets[(buf[start]! << 8) | buf[start + 1]!];
    if (list === undefined) return;
    for (const p of list) {
      if (matchesAt(buf, start, end, p)) return addSpan(out, start, start + p.length); // longest first
    }
  }

  /**
   * The first position p ≥ from where buf[p, end) is a proper prefix of some pattern, i.e. could
   * still become a secret with more output; `end` when there is none.
   */
  pendingFrom(buf: Buffer, from: number, end: number): number {
    for (let p = Math.max(from, end - this.maxLength + 1); p < end; p++) {
      const len = end - p;
      const list = len >= 2 ? this.buckets[(buf[p]! << 8) | buf[p + 1]!] : this.byFirst[buf[p]!];
      if (list === undefined) continue;
      for (const pat of list) {
        if (pat.length > len && startsWithTail(pat, buf, p, end)) return p;
      }
    }
    return end;
  }
}

/** Adds [start, stop) to flat, ordered spans, merging with the last one when they overlap. */
function addSpan(spans: number[], start: number, stop: number): void {
  const n = spans.length;
  if (n > 0 && start <= spans[n - 1]!) spans[n - 1] = Math.max(spans[n - 1]!, stop);
  else spans.push(start, stop);
}

function matchesAt(buf: Buffer, start: number, end: number, p: Buffer): boolean {
  if (start + p.length > end) return false;
  for (let k = 0; k < p.length; k++) if (buf[start + k] !== p[k]) return false;
  return true;
}

/** Whether `pattern` begins with buf[from, end). */
function startsWithTail(pattern: Buffer, buf: Buffer, from: number, end: number): boolean {
  for (let k = from; k < end; k++) if (buf[k] !== pattern[k - from]) return false;
  return true;
}

/** buf[0, end) with each span replaced by the mask. */
function splice(buf: Buffer, spans: readonly number[], end: number): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let k = 0; k < spans.length; k += 2) {
    parts.push(buf.subarray(at, spans[k]), MASK_BYTES);
    at = spans[k + 1]!;
  }
  parts.push(buf.subarray(at, end));
  return Buffer.concat(parts);
}

/**
 * One output stream's masking state. `write` returns what can be released now; it holds back only a
 * tail that is still the beginning of some secret form (at most the longest form − 1 bytes, and
 * usually nothing). The tail waits for more output however long that takes — releasing it on a
 * timer would leak the first half of a secret printed in two writes — and `flush()` releases it.
 */
export class MaskStream {
  private held: Buffer | null = null;

  constructor(private readonly masker: Masker) {}

  write(chunk: Buffer): Buffer {
    const masker = this.masker;
    if (masker.empty) return chunk;
    const buf = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    this.held = null;
    const n = buf.length;
    const spans = masker.find(buf, n);
    let hold = masker.pendingFrom(buf, 0, n);
    let keep = spans.length;
    for (let k = 0; k < spans.length; k += 2) {
      const start = spans[k]!;
      const stop = spans[k + 1]!;
      if (start >= hold) {
        keep = k;
        break;
      }
      if (stop > hold) {
        // An occurrence runs into the pending tail: the tail might extend it into a longer secret, so
        // hold from its start — unless it reaches far back (a long run of overlapping occurrences),
        // where masking through its end and looking for a new pending tail keeps the hold bounded.
        if (n - start <= 2 * masker.maxLength) {
          hold = start;
          keep = k;
          break;
        }
        hold = masker.pendingFrom(buf, stop, n);
      }
    }
    if (hold < n) this.held = Buffer.from(buf.subarray(hold, n)); // copy: the caller may reuse chunk
    if (keep === 0) return hold === n ? buf : buf.subarray(0, hold);
    return splice(buf, keep === spans.length ? spans : spans.slice(0, keep), hold);
  }

  /** Releases the held tail (masked) at the end of the stream. */
  flush(): Buffer {
    const buf = this.held;
    this.held = null;
    if (buf === null) return Buffer.alloc(0);
    const spans = this.masker.find(buf, buf.length);
    return spans.length === 0 ? buf : splice(buf, spans, buf.length);
  }
}
