// The shapes of setting and step schemas that the checker validates against.

/** The types a setting or step argument can take. */
export type ParamType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'array'
  /** An array of strings. */
  | 'strings'
  /** A string or an array of strings. */
  | 'string-or-strings'
  | 'duration'
  | 'cron'
  | 'any';

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly description: string;
  readonly required?: boolean;
  /** Allowed values (for strings). */
  readonly choices?: readonly string[];
  /** The default, as documentation. */
  readonly default?: string;
  /** Smallest allowed number. */
  readonly min?: number;
}

/** Where a step may stand. */
export type StepPlace = 'steps' | 'gate' | 'notify';

export interface StepSpec {
  readonly name: string;
  readonly description: string;
  /** Parameters; the first `positional` of them may be given without a name, in order. */
  readonly params: readonly ParamSpec[];
  readonly positional: number;
  readonly block: 'none' | 'required';
  readonly places: readonly StepPlace[];
  readonly example: string;
  /** Set for steps that come from a step library rather than the standard library. */
  readonly library?: { readonly name: string; readonly dir: string; readonly entrypoint: string };
}

/** A block of settings: stage, runtime docker, poll, … */
export interface BlockSpec {
  readonly name: string;
  readonly description: string;
  readonly settings: readonly ParamSpec[];
  /** Accept settings with any name (environment settings, configuration of a library). */
  readonly open?: boolean;
  /** Nested blocks it may hold. */
  readonly blocks?: readonly BlockSpec[];
}
