// ANSI escape sequences in log lines: SGR colours and styles become spans; every other control
// sequence (cursor moves, erase, OSC titles and hyperlinks) is dropped. Each line starts from the
// default style, which is what CI tools that colour their output emit.

export interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface Segment {
  readonly text: string;
  readonly style: Style;
}

const NAMES = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** The 256-colour palette entry as a CSS colour (0–15 are theme colours, as class names). */
function color256(n: number): string {
  if (n < 8) return `ansi-${NAMES[n]}`;
  if (n < 16) return `ansi-bright-${NAMES[n - 8]}`;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number): number => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

function applySgr(params: number[], style: Style): Style {
  let s = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as number;
    if (p === 0) s = {};
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = `ansi-${NAMES[p - 30]}`;
    else if (p >= 90 && p <= 97) s.fg = `ansi-bright-${NAMES[p - 90]}`;
    else if (p >= 40 && p <= 47) s.bg = `ansi-${NAMES[p - 40]}`;
    else if (p >= 100 && p <= 107) s.bg = `ansi-bright-${NAMES[p - 100]}`;
    else if (p === 39) delete s.fg;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        s[key] = color256(Math.min(255, params[i + 2] as number));
        i += 2;
      } else if (params[i + 1] === 2 && params[i + 4] !== undefined) {
        const c = (k: number): number => Math.min(255, params[i + k] as number);
        s[key] = `rgb(${c(2)},${c(3)},${c(4)})`;
        i += 4;
      }
    }
  }
  return s;
}

/** Splits a line into styled segments. A line without ESC is one plain segment (the fast path). */
export function parseAnsi(line: string): Segment[] {
  if (!line.includes('\x1b')) return [{ text: line, style: {} }];
  const out: Segment[] = [];
  let style: Style = {};
  let text = '';
  let i = 0;
  const flush = (): void => {
    if (text) out.push({ text, style });
    text = '';
  };
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch !== '\x1b') {
      text += ch;
      i++;
      continue;
    }
    const next = line[i + 1];
    if (next === '[') {
      // CSI: parameters, intermediates, then a final byte in @–~.
      let j = i + 2;
      while (j < line.length && !/[@-~]/.test(line[j] as string)) j++;
      const final = line[j];
      if (final === 'm') {
        flush();
        const params = line
          .slice(i + 2, j)
          .split(/[;:]/)
          .filter((x) => x !== '')
          .map((x) => Number(x) || 0);
        style = applySgr(params, style);
      }
      i = j + 1;
    } else if (next === ']') {
      // OSC: up to BEL or ST (ESC \).
      let j = i + 2;
      while (j < line.length && line[j] !== '\x07' && !(line[j] === '\x1b' && line[j + 1] === '\\'))
        j++;
      i = line[j] === '\x07' ? j + 1 : j + 2;
    } else {
      i += 2;
    }
  }
  flush();
  return out;
}

/** The visible text of a line: escapes removed, and only what follows the last carriage return. */
export function plainText(line: string): string {
  const visible = visibleLine(line);
  if (!visible.includes('\x1b')) return visible;
  return parseAnsi(visible)
    .map((s) => s.text)
    .join('');
}

/** What a terminal would show of a line with carriage returns (progress bars): the last overwrite. */
export function visibleLine(line: string): string {
  let l = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = l.lastIndexOf('\r');
  if (cr >= 0) l = l.slice(cr + 1);
  return l;
}
