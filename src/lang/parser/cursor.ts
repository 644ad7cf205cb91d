// A cursor over tokens with the parser's shared moves: expect, describe, recover.

import type { DiagnosticCode } from '../codes.js';
import type { DiagnosticBag } from '../diagnostics.js';
import type { SourceFile, Span } from '../source.js';
import type { Punct, Token } from '../tokens.js';
import type { Ident } from '../ast.js';

/** Where a cursor's tokens come from: the lexer, pulled lazily, or a list (inside `${…}`). */
export interface TokenSource {
  nextToken(): Token;
}

export function listSource(tokens: readonly Token[], eof: Token): TokenSource {
  let i = 0;
  return { nextToken: () => (i < tokens.length ? (tokens[i++] as Token) : eof) };
}

export class Cursor {
  /** Lookahead not yet consumed; the parser never looks more than a few tokens ahead. */
  private readonly ahead: Token[] = [];
  private last: Token | undefined;

  constructor(
    private readonly tokenSource: TokenSource,
    readonly source: SourceFile,
    readonly bag: DiagnosticBag,
  ) {}

  private fill(n: number): void {
    while (this.ahead.length <= n) this.ahead.push(this.tokenSource.nextToken());
  }

  get peek(): Token {
    if (this.ahead.length === 0) this.ahead.push(this.tokenSource.nextToken());
    return this.ahead[0] as Token;
  }

  peekAt(ahead: number): Token {
    this.fill(ahead);
    return this.ahead[ahead] as Token;
  }

  /** The token just consumed (or the first token, before any). */
  get previous(): Token {
    return this.last ?? this.peek;
  }

  /** True once any token has been consumed. */
  get started(): boolean {
    return this.last !== undefined;
  }

  get atEnd(): boolean {
    return this.peek.kind === 'eof';
  }

  next(): Token {
    const t = this.peek;
    if (t.kind !== 'eof') {
      this.ahead.shift();
      this.last = t;
    }
    return t;
  }

  isPunct(p: Punct, t: Token = this.peek): boolean {
    return t.kind === 'punct' && t.text === p;
  }

  isIdent(name?: string, t: Token = this.peek): boolean {
    return t.kind === 'ident' && (name === undefined || t.text === name);
  }

  eatPunct(p: Punct): Token | undefined {
    return this.isPunct(p) ? this.next() : undefined;
  }

  ident(): Ident {
    const t = this.next();
    return { kind: 'ident', name: t.text, span: { start: t.start, end: t.end } };
  }

  report(code: DiagnosticCode, span: Span, message: string, help?: string): void {
    this.bag.report(code, this.source, span, message, help);
  }

  /** Consumes `p` or reports what was expected and what stood there instead. */
  expectPunct(p: Punct, after: string, help?: string): Token | undefined {
    if (this.isPunct(p)) return this.next();
    this.report('E0201', this.errorSpan(), `expected '${p}' ${after}, found ${describe(this.peek)}`, help);
    return undefined;
  }

  /** Where to point for a missing token: the offending token, or just past the previous one at a line break. */
  errorSpan(): Span {
    const t = this.peek;
    if (t.kind === 'eof' || t.newlineBefore) {
      const prev = this.previous;
      if (this.started && prev.end <= t.start) return { start: prev.end, end: prev.end };
    }
    return { start: t.start, end: t.end };
  }

  /**
   * Skips the rest of a broken statement: up to the next line break at this
   * nesting depth, or a `}` that closes the enclosing block (not consumed).
   * Always consumes at least one token unless the cursor stands on `}` or EOF.
   */
  recover(): void {
    let depth = 0;
    let first = true;
    while (!this.atEnd) {
      const t = this.peek;
      if (depth === 0 && !first && t.newlineBefore) return;
      if (t.kind === 'punct') {
        if (t.text === '{' || t.text === '(' || t.text === '[') depth++;
        else if (t.text === '}' || t.text === ')' || t.text === ']') {
          if (depth === 0) {
            if (t.text === '}') return;
          } else {
            depth--;
            if (depth === 0 && t.text === '}') {
              this.next();
              return;
            }
          }
        }
      }
      this.next();
      first = false;
    }
  }

  /** Skips a balanced `{ … }` if the cursor stands on `{`. */
  skipBlock(): void {
    if (!this.isPunct('{')) return;
    let depth = 0;
    while (!this.atEnd) {
      const t = this.next();
      if (t.kind !== 'punct') continue;
      if (t.text === '{') depth++;
      else if (t.text === '}') {
        depth--;
        if (depth === 0) return;
      }
    }
  }
}

export function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'ident':
      return `'${t.text}'`;
    case 'number':
      return `number ${t.text}`;
    case 'string':
      return `string ${t.text.length > 30 ? t.text.slice(0, 27) + '…' : t.text}`;
    case 'punct':
      return `'${t.text}'`;
  }
}
