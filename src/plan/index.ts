// Plans: the deterministic description of a run, and the ways to show it.

export { compilePlan, expandContextOf, type PlanInput, type CompileResult } from './compile.js';
export { planFile, projectName, type PlannedFile } from './plan-file.js';
export { resolveContext, parseVars, ContextError, TRIGGER_EVENTS, type ContextFlags } from './git-context.js';
export { inferPipeline, type Inferred } from './infer.js';
export { renderPlanText, type TextOptions } from './explain/text.js';
export { renderDot, renderMermaid } from './explain/graph-formats.js';
export { describeGate, describeRuntime, requiredCapability, duration } from './explain/describe.js';
export { sha256 } from './hash.js';
export { verifyPlanHash } from './verify.js';
export { evaluateCondition, truthy } from './conditions.js';
export { lockResolver, readLock, lockPathFor } from './lock-resolver.js';
