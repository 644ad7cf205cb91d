// The syntax tree of an Otto file. Every node carries its source span.

import type { SourceFile, Span } from './source.js';
import type { Comment, QuoteStyle } from './tokens.js';

export interface Ident {
  readonly kind: 'ident';
  readonly name: string;
  readonly span: Span;
}

// ---------------------------------------------------------------- values

export type StringSegment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'interp'; readonly expr: Value; readonly span: Span };

export interface StringLit {
  readonly kind: 'string';
  readonly quote: QuoteStyle;
  /** Source text, quotes included: the formatter prints it unchanged. */
  readonly raw: string;
  readonly segments: readonly StringSegment[];
  readonly span: Span;
}

export interface NumberLit {
  readonly kind: 'number';
  readonly value: number;
  readonly raw: string;
  readonly span: Span;
}

export interface BoolLit {
  readonly kind: 'bool';
  readonly value: boolean;
  readonly span: Span;
}

export interface ArrayLit {
  readonly kind: 'array';
  readonly items: readonly Value[];
  readonly span: Span;
}

export interface CallExpr {
  readonly kind: 'call';
  readonly callee: Ident;
  readonly args: readonly Value[];
  readonly span: Span;
}

/** `it`, `os`, `vars.deploy`, `run.branch`, `branch`. */
export interface RefExpr {
  readonly kind: 'ref';
  readonly path: readonly Ident[];
  readonly span: Span;
}

export type Value = StringLit | NumberLit | BoolLit | ArrayLit | CallExpr | RefExpr;

// ---------------------------------------------------------------- conditions

export type CompareOp = '==' | '!=' | '=~';

export type Condition =
  | { readonly kind: 'or'; readonly left: Condition; readonly right: Condition; readonly span: Span }
  | { readonly kind: 'and'; readonly left: Condition; readonly right: Condition; readonly span: Span }
  | { readonly kind: 'not'; readonly operand: Condition; readonly span: Span }
  | { readonly kind: 'paren'; readonly inner: Condition; readonly span: Span }
  | {
      readonly kind: 'compare';
      readonly op: CompareOp;
      readonly left: RefExpr | CallExpr;
      readonly right: Value;
      readonly span: Span;
    }
  | { readonly kind: 'truthy'; readonly operand: RefExpr | CallExpr | BoolLit; readonly span: Span };

// ---------------------------------------------------------------- shared items

export interface Setting {
  readonly kind: 'setting';
  readonly name: Ident;
  readonly value: Value;
  readonly span: Span;
}

/** A named block of settings and blocks: `docker { image = 'x' }`, `slack { … }`. */
export interface Block {
  readonly kind: 'block';
  readonly name: Ident;
  readonly items: readonly (Setting | Block)[];
  readonly span: Span;
}

/** `from 'Build'` inside runtime, cache and gates. */
export interface FromRef {
  readonly kind: 'from';
  readonly target: StringLit;
  readonly span: Span;
}

// ---------------------------------------------------------------- steps

export type StepArg =
  | { readonly kind: 'positional'; readonly value: Value; readonly span: Span }
  | { readonly kind: 'kwarg'; readonly name: Ident; readonly value: Value; readonly span: Span };

export interface Step {
  readonly kind: 'step';
  readonly name: Ident;
  readonly args: readonly StepArg[];
  /** The steps of a block step (`dir 'web' { … }`); undefined when there is no block. */
  readonly body?: readonly Step[];
  readonly span: Span;
}

export interface StepsBlock {
  readonly kind: 'steps';
  readonly steps: readonly Step[];
  readonly span: Span;
}

// ---------------------------------------------------------------- stages

export interface Runtime {
  readonly kind: 'runtime';
  readonly items: readonly (FromRef | Block)[];
  readonly span: Span;
}

export interface CacheUse {
  readonly kind: 'cache-use';
  readonly names: readonly Ident[];
  readonly span: Span;
}

export interface Cache {
  readonly kind: 'cache';
  readonly items: readonly (Setting | Block | CacheUse | FromRef)[];
  readonly span: Span;
}

export type GateItem =
  | { readonly kind: 'gate-condition'; readonly condition: Condition; readonly span: Span }
  | Step
  | Block;

export interface GatePhase {
  readonly kind: 'gate-phase';
  readonly phase: 'enter' | 'exit';
  readonly items: readonly GateItem[];
  readonly span: Span;
}

export interface Gates {
  readonly kind: 'gates';
  readonly items: readonly (GatePhase | FromRef)[];
  readonly span: Span;
}

export interface When {
  readonly kind: 'when';
  /** Conditions on separate lines must all hold. */
  readonly conditions: readonly Condition[];
  readonly span: Span;
}

export interface NotifyPhase {
  readonly kind: 'notify-phase';
  readonly on: 'success' | 'failure' | 'complete';
  readonly steps: readonly Step[];
  readonly span: Span;
}

export interface Notify {
  readonly kind: 'notify';
  readonly items: readonly NotifyPhase[];
  readonly span: Span;
}

export interface EnvironmentRef {
  readonly kind: 'environment';
  readonly name: Ident;
  readonly span: Span;
}

export type StageItem =
  | Setting
  | Runtime
  | Cache
  | StepsBlock
  | Gates
  | When
  | Notify
  | EnvironmentRef
  | Node
  | StagesBlock;

export interface Stage {
  readonly kind: 'stage';
  /** The name in `stage('Build')`. */
  readonly label?: StringLit;
  readonly items: readonly StageItem[];
  readonly span: Span;
}

export interface Parallel {
  readonly kind: 'parallel';
  readonly items: readonly (Setting | Node | StagesBlock)[];
  readonly span: Span;
}

export interface Each {
  readonly kind: 'each';
  readonly values: readonly Value[];
  readonly as?: Ident;
  readonly items: readonly (Node | StagesBlock)[];
  readonly span: Span;
}

/** A sequence of nodes: `stages { … }`. */
export interface StagesBlock {
  readonly kind: 'stages';
  readonly items: readonly Node[];
  readonly span: Span;
}

/** `steps` here is an orphan step list: a stage without a name. */
export type Node = Stage | Parallel | Each | StepsBlock;

// ---------------------------------------------------------------- top level

export interface UseEntry {
  readonly kind: 'use-entry';
  /** `stdlib` is written bare; everything else is a string. */
  readonly source: StringLit | Ident;
  readonly alias?: Ident;
  readonly span: Span;
}

export interface Use {
  readonly kind: 'use';
  readonly entries: readonly UseEntry[];
  readonly span: Span;
}

export interface Configure {
  readonly kind: 'configure';
  readonly blocks: readonly Block[];
  readonly span: Span;
}

export interface EnvironmentSettings {
  readonly kind: 'env-settings';
  readonly settings: readonly Setting[];
  readonly span: Span;
}

export interface EnvironmentDecl {
  readonly kind: 'environment-decl';
  readonly name: Ident;
  readonly items: readonly (Setting | EnvironmentSettings)[];
  readonly span: Span;
}

export interface Environments {
  readonly kind: 'environments';
  readonly environments: readonly EnvironmentDecl[];
  readonly span: Span;
}

export interface FromBlueprint {
  readonly kind: 'from-blueprint';
  readonly target: StringLit;
  /** Var assignments; undefined when written without braces. */
  readonly vars?: readonly Setting[];
  readonly span: Span;
}

export interface Triggers {
  readonly kind: 'triggers';
  readonly items: readonly (Setting | Block)[];
  readonly span: Span;
}

export interface Pipeline {
  readonly kind: 'pipeline';
  readonly items: readonly (Setting | FromBlueprint | Triggers | Node | StagesBlock)[];
  readonly span: Span;
}

export interface VarProp {
  readonly kind: 'var-prop';
  readonly name: Ident;
  readonly value: Value;
  /** Written `description = 'x'` rather than `description 'x'`. */
  readonly equals: boolean;
  readonly span: Span;
}

export interface VarDecl {
  readonly kind: 'var-decl';
  readonly name: Ident;
  readonly props: readonly VarProp[];
  readonly span: Span;
}

export interface VarsBlock {
  readonly kind: 'vars';
  readonly vars: readonly VarDecl[];
  readonly span: Span;
}

export interface Blueprint {
  readonly kind: 'blueprint';
  readonly items: readonly (VarsBlock | Setting | Node | StagesBlock)[];
  readonly span: Span;
}

/** The 2019 sketch of a user-defined step (`step { vars { … } }`): parsed, never run. */
export interface StepSketch {
  readonly kind: 'step-sketch';
  readonly items: readonly (VarsBlock | Setting | Block)[];
  readonly span: Span;
}

export type TopItem = Use | Configure | Environments | Pipeline | Blueprint | StepSketch;

export interface OttoFile {
  readonly kind: 'file';
  readonly source: SourceFile;
  readonly items: readonly TopItem[];
  readonly comments: readonly Comment[];
  readonly span: Span;
}
