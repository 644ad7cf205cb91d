// A log held as the text it arrived in, plus where each line starts: a 100 MB log costs about its
// own size and 8 bytes a line, the view cuts out only the lines it shows, and search scans the
// text itself rather than a million small strings.

import { plainText } from './ansi.js';

/** A growable array of unsigned 32-bit integers. */
class U32 {
  data = new Uint32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

export class LogLines {
  /** Pieces of the log, each ending with a newline. */
  private readonly chunks: string[] = [];
  /** For each complete line: its chunk, and its start within the chunk. */
  private readonly lineChunk = new U32();
  private readonly lineStart = new U32();
  /** The last line while it has no newline yet. */
  private partial = '';
  /** Characters received (to skip what a reconnected follow stream sends again). */
  received = 0;
  /** Bumped on every change, for React to notice. */
  version = 0;

  append(text: string): void {
    if (!text) return;
    this.received += text.length;
    const nl = text.lastIndexOf('\n');
    if (nl < 0) {
      this.partial += text;
    } else {
      const chunk = this.partial + text.slice(0, nl + 1);
      this.partial = text.slice(nl + 1);
      const ci = this.chunks.length;
      this.chunks.push(chunk);
      for (let start = 0; start < chunk.length;) {
        this.lineChunk.push(ci);
        this.lineStart.push(start);
        start = chunk.indexOf('\n', start) + 1;
      }
    }
    this.version++;
  }

  /** Complete lines (each ended by a newline). */
  private get complete(): number {
    return this.lineStart.length;
  }

  get count(): number {
    return this.complete + (this.partial ? 1 : 0);
  }

  line(i: number): string {
    if (i >= this.complete) return i === this.complete ? this.partial : '';
    const chunk = this.chunks[this.lineChunk.data[i] as number] as string;
    const start = this.lineStart.data[i] as number;
    const sameChunk =
      i + 1 < this.complete && this.lineChunk.data[i + 1] === this.lineChunk.data[i];
    const end = sameChunk ? (this.lineStart.data[i + 1] as number) - 1 : chunk.length - 1;
    return chunk.slice(start, end);
  }

  text(): string {
    return this.chunks.join('') + this.partial;
  }

  /** The line holding character `offset` of chunk `ci`. */
  private lineAt(ci: number, offset: number, from: number): number {
    let lo = from;
    let hi = this.complete - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const c = this.lineChunk.data[mid] as number;
      if (c < ci || (c === ci && (this.lineStart.data[mid] as number) <= offset)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Line indices (from line `from` on) whose text contains `needle`, case-insensitive, at most
   * `limit` of them. Lines with escape sequences or carriage returns are checked on their visible
   * text, so a match inside a colour code or an overwritten progress line does not count.
   */
  search(needle: string, from = 0, limit = 100_000): number[] {
    const out: number[] = [];
    if (!needle) return out;
    const re = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
    const one = new RegExp(re.source, 'i');
    const accept = (i: number): void => {
      if (out[out.length - 1] === i || i < from) return;
      const raw = this.line(i);
      if ((raw.includes('\x1b') || raw.includes('\r')) && !one.test(plainText(raw))) return;
      out.push(i);
    };
    const firstChunk =
      from < this.complete ? (this.lineChunk.data[from] as number) : this.chunks.length;
    for (let ci = firstChunk; ci < this.chunks.length && out.length < limit; ci++) {
      const chunk = this.chunks[ci] as string;
      re.lastIndex = ci === firstChunk ? (this.lineStart.data[from] as number) : 0;
      let last = -1;
      for (let m = re.exec(chunk); m && out.length < limit; m = re.exec(chunk)) {
        const i = this.lineAt(ci, m.index, last < 0 ? 0 : last);
        if (i !== last) accept(i);
        last = i;
        // The rest of this line cannot add another match to the list.
        const next =
          i + 1 < this.complete && this.lineChunk.data[i + 1] === ci
            ? (this.lineStart.data[i + 1] as number)
            : chunk.length;
        re.lastIndex = Math.max(re.lastIndex, next);
      }
    }
    if (
      this.partial &&
      out.length < limit &&
      this.complete >= from &&
      one.test(plainText(this.partial))
    )
      out.push(this.complete);
    return out;
  }
}
