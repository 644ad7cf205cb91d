// The formatter's line buffer: text, indented line breaks and widths, no trailing blanks.

/** The column limit for joining a block or an array onto one line. */
export const WIDTH = 100;

/** Tabs inside strings and comments advance to the next multiple of this when measuring. */
const TAB = 4;

/** The width of a line as an editor shows it. */
export function visualWidth(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; i++) w = s.charCodeAt(i) === 9 ? w + TAB - (w % TAB) : w + 1;
  return w;
}

/**
 * Lines being written. The first line continues whatever precedes the buffer
 * (it starts at `startCol`); later lines are complete. A new line owes its
 * indentation until text lands on it, so a line never holds only spaces.
 */
export class Out {
  readonly lines: string[] = [''];
  private pending: number | undefined;

  constructor(readonly startCol = 0) {}

  text(s: string): void {
    if (s === '') return;
    const i = this.lines.length - 1;
    if (this.pending !== undefined) {
      this.lines[i] = ' '.repeat(this.pending) + s;
      this.pending = undefined;
    } else {
      this.lines[i] += s;
    }
  }

  /** A new line at `indent`. */
  nl(indent: number): void {
    this.lines.push('');
    this.pending = indent;
  }

  /** An empty line; a `nl` follows it. */
  blank(): void {
    this.lines.push('');
    this.pending = undefined;
  }

  /** A complete line written as is (the inside of a string or a block comment). */
  rawLine(s: string): void {
    this.lines.push(s);
    this.pending = undefined;
  }

  /** Text whose later lines must stay byte for byte (a triple-quoted string). */
  verbatim(s: string): void {
    const parts = s.split('\n');
    this.text(parts[0] ?? '');
    for (const p of parts.slice(1)) this.rawLine(p);
  }

  /** The column the next text lands in. */
  get col(): number {
    if (this.pending !== undefined) return this.pending;
    const last = this.lines[this.lines.length - 1] ?? '';
    return this.lines.length === 1
      ? visualWidth(' '.repeat(this.startCol) + last)
      : visualWidth(last);
  }

  /** The widest line, the first counted from column 0. */
  width(): number {
    let max = 0;
    this.lines.forEach((l, i) => {
      max = Math.max(max, visualWidth(i === 0 ? ' '.repeat(this.startCol) + l : l));
    });
    return max;
  }

  /** Copies a buffer that was started at this buffer's current column. */
  append(o: Out): void {
    this.text(o.lines[0] ?? '');
    if (o.lines.length === 1) return;
    for (const l of o.lines.slice(1)) this.lines.push(l);
    this.pending = o.pending;
  }
}
