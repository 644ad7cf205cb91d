// Token shapes produced by the lexer and consumed by the parser.

export type Punct =
  | '{'
  | '}'
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '='
  | '=='
  | '!='
  | '=~'
  | '->'
  | ':'
  | '&&'
  | '||'
  | '!'
  | '.';

export type QuoteStyle = 'single' | 'double' | 'triple-single' | 'triple-double';

/** A literal run of text or an interpolated `${…}` inside a string. */
export type StringPart =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'interp';
      /** Offsets of the expression between `${` and `}`. */
      readonly start: number;
      readonly end: number;
      readonly tokens: readonly Token[];
    };

export interface Token {
  readonly kind: 'ident' | 'string' | 'number' | 'punct' | 'eof';
  readonly start: number;
  readonly end: number;
  /** The identifier, the punctuation, or the number's source text. */
  readonly text: string;
  /** True when a line break (or a comment holding one) precedes the token. */
  readonly newlineBefore: boolean;
  readonly quote?: QuoteStyle | undefined;
  readonly parts?: readonly StringPart[] | undefined;
}

export interface Comment {
  readonly kind: 'line' | 'block';
  readonly start: number;
  readonly end: number;
  /** The comment's source text, delimiters included. */
  readonly text: string;
}
