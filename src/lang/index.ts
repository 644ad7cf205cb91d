// The language front end: parse, load, check, format, and render diagnostics.

export type * from './ast.js';
export { SourceFile, type Span, type Position } from './source.js';
export { parse, type ParseResult } from './parser/index.js';
export { format } from './format.js';
export { loadProgram, loadProgramFromSource, isRemoteUse, literal, parseStepManifest, type Program, type BlueprintUnit, type LibraryUnit, type LoadOptions, type RemoteResolver } from './program.js';
export { check, type CheckResult } from './check/index.js';
export { expand, pathText, pathOf, type Expansion, type ExpandedStage, type ExpandContext, type Seq, type Par, type Binding, type EvalSite } from './expand.js';
export { Evaluator, UNKNOWN, toText, changedMatches, type PlanValue, type Maybe, type Scope } from './evaluate.js';
export { type Diagnostic, type DiagnosticJson, type Severity, diagnosticToJson, hasErrors, sortDiagnostics } from './diagnostics.js';
export { CODES, ALL_CODES, type DiagnosticCode, type CodeInfo } from './codes.js';
export { renderDiagnostic, renderDiagnostics, summarize, type RenderOptions } from './frame.js';
export { parseDuration, formatDuration } from './duration.js';
export { validateCron } from './cron.js';
export { globMatch, globToRegExp } from './glob.js';
export { STANDARD_STEPS } from './schema/steps.js';
export * as schema from './schema/settings.js';
export type { StepSpec, ParamSpec, BlockSpec } from './schema/types.js';
export { compareOrder, findStages } from './check/references.js';
export { EVENTS } from './check/conditions.js';
