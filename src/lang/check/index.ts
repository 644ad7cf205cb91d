// check(): every rule that can be checked without running, over a loaded program.

import { dedupeDiagnostics, hasErrors, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { expand, type ExpandContext, type Expansion } from '../expand.js';
import type { Program } from '../program.js';
import { checkFromBlueprints } from './blueprints.js';
import { CheckContext } from './context.js';
import { checkStages } from './stages.js';
import { checkTopLevel } from './top.js';

export interface CheckResult {
  readonly diagnostics: readonly Diagnostic[];
  /** Undefined when syntax errors stopped the check before expansion. */
  readonly expansion: Expansion | undefined;
}

const PROBLEM_CODES = { 'unknown-name': 'E0607', 'unknown-function': 'E0608', 'bad-arguments': 'E0609', 'not-scalar': 'E0302' } as const;

/**
 * Checks a program. Syntax errors end the check early: a half-parsed tree
 * would only produce follow-on errors that confuse more than they help.
 */
export function check(program: Program, context: ExpandContext = {}): CheckResult {
  if (hasErrors(program.diagnostics)) {
    return { diagnostics: sortDiagnostics(dedupeDiagnostics(program.diagnostics)), expansion: undefined };
  }
  const expansion = expand(program, context);
  const ctx = new CheckContext(program, expansion);
  program.files.forEach((file, i) => checkTopLevel(ctx, file, i === 0));
  for (const file of program.files) checkFromBlueprints(ctx, file);
  checkStages(ctx);
  for (const { file, problem } of expansion.problems) {
    ctx.report(file, PROBLEM_CODES[problem.kind], problem.node.span, problem.message, problem.help ?? functionHelp(problem.kind));
  }
  const all = [...program.loadDiagnostics, ...ctx.bag.items];
  return { diagnostics: sortDiagnostics(dedupeDiagnostics(all)), expansion };
}

function functionHelp(kind: string): string | undefined {
  if (kind === 'unknown-function') return 'plan-time functions are concat, changed, lower, upper, join and basename';
  return undefined;
}
