// A log held as lines, filled chunk by chunk as it streams in: the view reads only the lines it
// shows, so a 100 MB log costs one pass to split and nothing per frame.

import { plainText } from './ansi.js';

export class LogLines {
  private readonly lines: string[] = [];
  private partial = '';
  /** Characters received (to skip what a reconnected follow stream sends again). */
  received = 0;
  /** Bumped on every change, for React to notice. */
  version = 0;

  append(chunk: string): void {
    if (!chunk) return;
    this.received += chunk.length;
    const text = this.partial + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.lines.push(text.slice(start, nl));
      start = nl + 1;
    }
    this.partial = text.slice(start);
    this.version++;
  }

  get count(): number {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  line(i: number): string {
    return i < this.lines.length ? (this.lines[i] as string) : i === this.lines.length ? this.partial : '';
  }

  text(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '') + this.partial;
  }

  /**
   * Line indices whose visible text contains `needle` (case-insensitive), at most `limit` of them.
   * Lines with escape sequences are searched without them, so colour codes never hide a match.
   */
  search(needle: string, limit = 100_000): number[] {
    const out: number[] = [];
    if (!needle) return out;
    const n = needle.toLowerCase();
    const total = this.count;
    for (let i = 0; i < total && out.length < limit; i++) {
      const raw = this.line(i);
      const hay = raw.includes('\x1b') || raw.includes('\r') ? plainText(raw) : raw;
      if (hay.length >= n.length && hay.toLowerCase().includes(n)) out.push(i);
    }
    return out;
  }
}
