// The lexer: source text to tokens and comments, reporting every lexical error.

import type { DiagnosticBag } from './diagnostics.js';
import type { SourceFile } from './source.js';
import type { Comment, Punct, QuoteStyle, StringPart, Token } from './tokens.js';

export interface LexResult {
  readonly tokens: Token[];
  readonly comments: Comment[];
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_BANG = 33;
const CH_DQUOTE = 34;
const CH_DOLLAR = 36;
const CH_AMP = 38;
const CH_SQUOTE = 39;
const CH_STAR = 42;
const CH_MINUS = 45;
const CH_DOT = 46;
const CH_SLASH = 47;
const CH_EQ = 61;
const CH_GT = 62;
const CH_BACKSLASH = 92;
const CH_LBRACE = 123;
const CH_PIPE = 124;
const CH_RBRACE = 125;
const CH_TILDE = 126;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === CH_MINUS;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const SINGLE_PUNCT: Record<string, Punct> = {
  '{': '{',
  '}': '}',
  '(': '(',
  ')': ')',
  '[': '[',
  ']': ']',
  ',': ',',
  ':': ':',
  '.': '.',
};

/** Lexes a whole file at once (tests and tools); the parser pulls tokens one by one instead. */
export function lex(source: SourceFile, bag: DiagnosticBag): LexResult {
  const lexer = new Lexer(source, bag, 0, source.text.length);
  const tokens: Token[] = [];
  for (let t = lexer.nextToken(); ; t = lexer.nextToken()) {
    tokens.push(t);
    if (t.kind === 'eof') break;
  }
  return { tokens, comments: lexer.comments };
}

/** A lexer the parser pulls from: tokens are not all kept alive at once, which spares the GC. */
export function tokenStream(source: SourceFile, bag: DiagnosticBag): { nextToken(): Token; readonly comments: Comment[] } {
  return new Lexer(source, bag, 0, source.text.length);
}

class Lexer {
  private pos: number;
  private newline = false;
  /** Tokens lexed but not yet handed out (or, inside `${…}`, all of them). */
  readonly tokens: Token[] = [];
  private ended = false;
  private queueHead = 0;
  readonly comments: Comment[] = [];

  constructor(
    private readonly source: SourceFile,
    private readonly bag: DiagnosticBag,
    start: number,
    private readonly limit: number,
  ) {
    this.pos = start;
  }

  private get text(): string {
    return this.source.text;
  }

  /** The next token; `eof` (repeatedly) at the end. */
  nextToken(): Token {
    while (this.queueHead >= this.tokens.length) {
      // Handed-out tokens are dropped a thousand at a time: truncating an array is a slow path in
      // V8, and doing it per token was a few per cent of parsing.
      if (this.queueHead >= 1024) {
        this.tokens.length = 0;
        this.queueHead = 0;
      }
      if (this.ended || !this.step(false)) {
        this.ended = true;
        return { kind: 'eof', start: this.limit, end: this.limit, text: '', newlineBefore: true, quote: undefined, parts: undefined };
      }
    }
    return this.tokens[this.queueHead++] as Token;
  }

  /**
   * Tokenises a `${…}` body to the `}` that closes it, leaving `pos` on that brace.
   */
  runInterpolation(): void {
    while (this.step(true)) {
      // every token stays in this.tokens
    }
  }

  private depth = 0;

  /** Lexes one step (a token, a comment run or an error); false at the end of input. */
  private step(inInterp: boolean): boolean {
    const text = this.text;
    {
      this.skipTrivia();
      if (this.pos >= this.limit) return false;
      const start = this.pos;
      const c = text.charCodeAt(start);
      if (inInterp) {
        if (c === CH_RBRACE && this.depth === 0) return false;
        if (c === CH_LBRACE) this.depth++;
        if (c === CH_RBRACE) this.depth--;
      }
      if (isIdentStart(c)) {
        let end = start + 1;
        while (end < this.limit) {
          const d = text.charCodeAt(end);
          // `environment->prod`: a `-` followed by `>` is the arrow, not part of the name.
          if (d === CH_MINUS && text.charCodeAt(end + 1) === CH_GT) break;
          if (!isIdentPart(d)) break;
          end++;
        }
        this.push('ident', start, end, text.slice(start, end));
        return true;
      }
      if (isDigit(c) || (c === CH_MINUS && isDigit(text.charCodeAt(start + 1)))) {
        let end = start + 1;
        while (end < this.limit && isDigit(text.charCodeAt(end))) end++;
        if (text.charCodeAt(end) === CH_DOT && isDigit(text.charCodeAt(end + 1))) {
          end++;
          while (end < this.limit && isDigit(text.charCodeAt(end))) end++;
        }
        if (end < this.limit && isIdentStart(text.charCodeAt(end))) {
          // `10m` is a common slip for the duration string `'10m'`.
          let bad = end;
          while (bad < this.limit && isIdentPart(text.charCodeAt(bad))) bad++;
          const word = text.slice(start, bad);
          this.bag.report(
            'E0106',
            this.source,
            { start, end: bad },
            `invalid number '${word}'`,
            /^\d+(\.\d+)?[smhd]$/.test(word)
              ? `durations are strings: write '${word}'`
              : 'a number is digits with an optional fraction, such as 3 or 0.5',
          );
          this.push('number', start, bad, text.slice(start, end));
          this.pos = bad;
          return true;
        }
        this.push('number', start, end, text.slice(start, end));
        return true;
      }
      if (c === CH_SQUOTE || c === CH_DQUOTE) {
        this.lexString(c);
        return true;
      }
      const c2 = text.charCodeAt(start + 1);
      const two =
        c === CH_EQ ? (c2 === CH_EQ ? '==' : c2 === CH_TILDE ? '=~' : undefined)
        : c === CH_BANG ? (c2 === CH_EQ ? '!=' : undefined)
        : c === CH_MINUS ? (c2 === CH_GT ? '->' : undefined)
        : c === CH_AMP ? (c2 === CH_AMP ? '&&' : undefined)
        : c === CH_PIPE ? (c2 === CH_PIPE ? '||' : undefined)
        : undefined;
      if (two !== undefined) {
        this.push('punct', start, start + 2, two);
        return true;
      }
      if (c === CH_EQ || c === CH_BANG) {
        this.push('punct', start, start + 1, c === CH_EQ ? '=' : '!');
        return true;
      }
      const single = SINGLE_PUNCT[text[start] as string];
      if (single !== undefined) {
        this.push('punct', start, start + 1, single);
        return true;
      }
      if (c === 0x23) {
        // `# …` is a comment in many languages: report it once and skip the line.
        let end = text.indexOf('\n', start);
        if (end < 0 || end > this.limit) end = this.limit;
        this.bag.report('E0104', this.source, { start, end: start + 1 }, "unexpected character '#'", strayHelp(c));
        this.pos = end;
        return true;
      }
      // Anything else is reported once per run of unknown characters.
      let end = start + 1;
      while (end < this.limit && this.isStray(text.charCodeAt(end))) end++;
      const bad = text.slice(start, end);
      this.bag.report(
        'E0104',
        this.source,
        { start, end },
        `unexpected character${bad.length > 1 ? 's' : ''} '${printable(bad)}'`,
        strayHelp(text.charCodeAt(start)),
      );
      this.pos = end;
    }
    return true;
  }

  get position(): number {
    return this.pos;
  }

  private isStray(c: number): boolean {
    if (c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR) return false;
    if (isIdentStart(c) || isDigit(c) || c === CH_SQUOTE || c === CH_DQUOTE) return false;
    return '{}()[],:.=!-&|/'.indexOf(String.fromCharCode(c)) < 0;
  }

  private push(kind: Token['kind'], start: number, end: number, text: string, quote?: QuoteStyle, parts?: StringPart[]): void {
    // One object shape for every token keeps property access monomorphic in the parser.
    this.tokens.push({ kind, start, end, text, newlineBefore: this.newline, quote, parts });
    this.newline = false;
    this.pos = end;
  }

  private skipTrivia(): void {
    const text = this.text;
    while (this.pos < this.limit) {
      const c = text.charCodeAt(this.pos);
      if (c === CH_LF) {
        this.newline = true;
        this.pos++;
      } else if (c === CH_SPACE || c === CH_TAB || c === CH_CR) {
        this.pos++;
      } else if (c === CH_SLASH && text.charCodeAt(this.pos + 1) === CH_SLASH) {
        const start = this.pos;
        let end = text.indexOf('\n', start);
        if (end < 0 || end > this.limit) end = this.limit;
        let textEnd = end;
        if (text.charCodeAt(textEnd - 1) === CH_CR) textEnd--;
        this.comments.push({ kind: 'line', start, end: textEnd, text: text.slice(start, textEnd) });
        this.pos = end;
      } else if (c === CH_SLASH && text.charCodeAt(this.pos + 1) === CH_STAR) {
        const start = this.pos;
        // Block comments do not nest: the first `*/` closes.
        const close = text.indexOf('*/', start + 2);
        let end: number;
        if (close < 0 || close + 2 > this.limit) {
          end = this.limit;
          this.bag.report(
            'E0102',
            this.source,
            { start, end: start + 2 },
            'block comment is never closed',
            "close it with '*/'; block comments do not nest",
          );
        } else {
          end = close + 2;
        }
        const body = text.slice(start, end);
        if (body.includes('\n')) this.newline = true;
        this.comments.push({ kind: 'block', start, end, text: body });
        this.pos = end;
      } else {
        return;
      }
    }
  }

  private lexString(quoteChar: number): void {
    const text = this.text;
    const start = this.pos;
    const q = quoteChar === CH_SQUOTE ? "'" : '"';
    const qqq = quoteChar === CH_SQUOTE ? "'''" : '"""';
    const triple = text.charCodeAt(start + 1) === quoteChar && text.charCodeAt(start + 2) === quoteChar;
    const style: QuoteStyle =
      quoteChar === CH_SQUOTE ? (triple ? 'triple-single' : 'single') : triple ? 'triple-double' : 'double';
    const interpolates = quoteChar === CH_DQUOTE;
    const open = triple ? 3 : 1;
    const contentStart = start + open;
    // Find the closing delimiter first, honouring escapes, so a bad escape
    // or interpolation inside cannot make the rest of the file a string.
    let i = contentStart;
    let contentEnd = -1;
    while (i < this.limit) {
      const c = text.charCodeAt(i);
      if (c === CH_BACKSLASH) {
        i += 2;
        continue;
      }
      if (!triple && c === CH_LF) break;
      if (c === quoteChar && (!triple || text.startsWith(qqq, i))) {
        contentEnd = i;
        break;
      }
      if (interpolates && c === CH_DOLLAR && text.charCodeAt(i + 1) === CH_LBRACE) {
        i = this.skipInterpolation(i + 2);
        continue;
      }
      i++;
    }
    let end: number;
    if (contentEnd < 0) {
      contentEnd = Math.min(i, this.limit);
      end = contentEnd;
      const closing = triple ? qqq : q;
      this.bag.report(
        'E0101',
        this.source,
        { start, end: Math.max(start + open, Math.min(end, start + open)) },
        triple ? 'multi-line string is never closed' : 'string is never closed',
        triple
          ? `close it with ${closing}`
          : `close it with ${closing} on the same line; use ${q}${q}${q}…${q}${q}${q} for text over several lines`,
      );
    } else {
      end = contentEnd + open;
    }
    const parts = this.stringParts(contentStart, contentEnd, style);
    this.push('string', start, end, text.slice(start, end), style, parts);
  }

  /** Skips a `${…}` body (from just after `${`), returning the offset after its `}`. */
  private skipInterpolation(from: number): number {
    const text = this.text;
    let depth = 0;
    let i = from;
    while (i < this.limit) {
      const c = text.charCodeAt(i);
      if (c === CH_LF) return i;
      // A `"` always ends the enclosing string: strings inside ${…} use single quotes.
      if (c === CH_DQUOTE) return i;
      if (c === CH_SQUOTE) {
        let j = i + 1;
        while (j < this.limit && text.charCodeAt(j) !== c && text.charCodeAt(j) !== CH_LF && text.charCodeAt(j) !== CH_DQUOTE) {
          j += text.charCodeAt(j) === CH_BACKSLASH ? 2 : 1;
        }
        i = text.charCodeAt(j) === c ? j + 1 : j;
        continue;
      }
      if (c === CH_LBRACE) depth++;
      if (c === CH_RBRACE) {
        if (depth === 0) return i + 1;
        depth--;
      }
      i++;
    }
    return i;
  }

  private stringParts(contentStart: number, contentEnd: number, style: QuoteStyle): StringPart[] {
    const text = this.text;
    if (style === 'single' || style === 'double') {
      // Most strings hold no escape and no interpolation: take them as they are.
      const body = text.slice(contentStart, contentEnd);
      if (body.indexOf('\\') < 0 && (style === 'single' || body.indexOf('${') < 0)) return [{ kind: 'text', text: body }];
    }
    const parts: StringPart[] = [];
    const deletions = style === 'triple-single' || style === 'triple-double' ? dedentDeletions(text, contentStart, contentEnd) : [];
    let deletion = 0;
    let buf = '';
    let i = contentStart;
    const literal = style === 'single' || style === 'triple-single';
    const quote = style === 'single' || style === 'triple-single' ? "'" : '"';
    while (i < contentEnd) {
      const del = deletions[deletion];
      if (del !== undefined && i >= del[0]) {
        if (i < del[1]) {
          i = del[1];
          continue;
        }
        deletion++;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === CH_BACKSLASH) {
        const n = text[i + 1];
        if (literal) {
          // Literal strings know two escapes; any other backslash is kept as is.
          if (n === '\\' || n === quote) {
            buf += n;
            i += 2;
          } else {
            buf += '\\';
            i++;
          }
          continue;
        }
        const escaped = this.escape(i, contentEnd);
        buf += escaped.text;
        i = escaped.next;
        continue;
      }
      if (!literal && c === CH_DOLLAR && text.charCodeAt(i + 1) === CH_LBRACE) {
        if (buf) parts.push({ kind: 'text', text: buf });
        buf = '';
        const exprStart = i + 2;
        const sub = new Lexer(this.source, this.bag, exprStart, contentEnd);
        sub.runInterpolation();
        const exprEnd = sub.position;
        if (exprEnd >= contentEnd || text.charCodeAt(exprEnd) !== CH_RBRACE) {
          this.bag.report(
            'E0105',
            this.source,
            { start: i, end: Math.min(i + 2, contentEnd) },
            "interpolation '${' is never closed",
            "close it with '}', or write '\\${' for a literal '${'",
          );
          i = contentEnd;
          continue;
        }
        if (sub.tokens.length === 0) {
          this.bag.report(
            'E0105',
            this.source,
            { start: i, end: exprEnd + 1 },
            "empty interpolation '${}'",
            "put a plan-time value inside, such as ${it} or ${vars.name}; write '\\${' for a literal '${'",
          );
        }
        parts.push({ kind: 'interp', start: exprStart, end: exprEnd, tokens: sub.tokens });
        i = exprEnd + 1;
        continue;
      }
      buf += text[i];
      i++;
    }
    if (buf || parts.length === 0) parts.push({ kind: 'text', text: buf });
    return parts;
  }

  private escape(at: number, limit: number): { text: string; next: number } {
    const text = this.text;
    const n = text[at + 1];
    switch (n) {
      case 'n':
        return { text: '\n', next: at + 2 };
      case 't':
        return { text: '\t', next: at + 2 };
      case 'r':
        return { text: '\r', next: at + 2 };
      case '\\':
        return { text: '\\', next: at + 2 };
      case '"':
        return { text: '"', next: at + 2 };
      case "'":
        return { text: "'", next: at + 2 };
      case '$':
        return { text: '$', next: at + 2 };
      case 'u': {
        const m = /^\\u\{([0-9A-Fa-f]{1,6})\}/.exec(text.slice(at, Math.min(limit, at + 11)));
        const cp = m ? parseInt(m[1] as string, 16) : -1;
        if (m && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
          return { text: String.fromCodePoint(cp), next: at + m[0].length };
        }
        this.bag.report(
          'E0103',
          this.source,
          { start: at, end: Math.min(limit, at + (m ? m[0].length : 2)) },
          m ? `'\\u{${m[1]}}' is not a Unicode scalar value` : "invalid unicode escape",
          'write a code point in hex between braces, such as \\u{1F680}',
        );
        return { text: '', next: at + (m ? m[0].length : 2) };
      }
      default: {
        const shown = n === undefined || n === '\n' ? '\\' : `\\${n}`;
        this.bag.report(
          'E0103',
          this.source,
          { start: at, end: Math.min(limit, at + (n === undefined || n === '\n' ? 1 : 2)) },
          `unknown escape '${shown}' in a double-quoted string`,
          "double-quoted strings know \\n \\t \\r \\\\ \\\" \\$ and \\u{…}; for a literal backslash write \\\\ or use single quotes",
        );
        return { text: n === undefined ? '' : n, next: at + (n === undefined ? 1 : 2) };
      }
    }
  }
}

/**
 * Ranges to drop from a triple-quoted string's content: a blank first line,
 * a blank last line, and the indentation common to every non-blank line.
 */
function dedentDeletions(text: string, start: number, end: number): Array<[number, number]> {
  const lines: Array<[number, number]> = [];
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || text.charCodeAt(i) === CH_LF) {
      lines.push([s, i]);
      s = i + 1;
    }
  }
  const blank = (l: [number, number]): boolean => /^[ \t\r]*$/.test(text.slice(l[0], l[1]));
  const out: Array<[number, number]> = [];
  let first = 0;
  let last = lines.length - 1;
  if (lines.length > 1 && blank(lines[0] as [number, number])) {
    const l = lines[0] as [number, number];
    out.push([l[0], Math.min(end, l[1] + 1)]);
    first = 1;
  }
  let dropLast = false;
  if (last > first && blank(lines[last] as [number, number])) {
    dropLast = true;
    last--;
  }
  let common = Infinity;
  for (let k = first; k <= last; k++) {
    const l = lines[k] as [number, number];
    if (blank(l)) continue;
    let w = 0;
    while (l[0] + w < l[1] && (text.charCodeAt(l[0] + w) === CH_SPACE || text.charCodeAt(l[0] + w) === CH_TAB)) w++;
    common = Math.min(common, w);
  }
  if (common === Infinity) common = 0;
  for (let k = first; k <= last; k++) {
    const l = lines[k] as [number, number];
    const width = Math.min(common, l[1] - l[0]);
    // A blank line loses whatever whitespace it has up to the common width.
    if (width > 0) out.push([l[0], l[0] + width]);
  }
  if (dropLast) {
    const prev = lines[last] as [number, number];
    const l = lines[last + 1] as [number, number];
    // Drop the line break before the blank last line, and the line itself.
    out.push([Math.max(start, prev[1]), l[1]]);
  }
  out.sort((a, b) => a[0] - b[0]);
  return out;
}

function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\u{${code.toString(16)}}` : ch;
  }
  return out;
}

function strayHelp(c: number): string {
  if (c === CH_DOLLAR) return "plan-time values go inside a double-quoted string: \"${name}\"";
  if (c === 0x60) return "strings use ' or \", not backticks";
  if (c === 0x23) return "comments start with // or /*; '#' is only allowed inside strings";
  if (c === 0x3b) return 'statements end at the line break; no semicolon is needed';
  if (c === CH_AMP || c === CH_PIPE) return "conditions combine with && and ||";
  if (c === CH_TILDE) return "glob matches are written with =~";
  if (c === 0x2018 || c === 0x2019 || c === 0x201c || c === 0x201d) return "typographic quotes are not string quotes: use ' or \"";
  return 'remove it, or put it inside a string';
}
