// Plan benchmark: check + plan of a generated 5,000-stage pipeline built from a 3-dimension matrix.

import { loadProgramFromSource, SourceFile } from '../src/lang/index.js';
import { compilePlan } from '../src/plan/index.js';
import { planJson, type PlanContext } from '../src/protocol/plan.js';
import { generateMatrixPipeline } from './generate.js';
import { fmtMs, printSection, timeIt, type Row } from './util.js';

const context: PlanContext = { event: 'push', branch: 'main', tag: '', sha: 'a'.repeat(40), base: '', vars: {}, changedFiles: [] };

export function benchPlan(): Row[] {
  const text = generateMatrixPipeline(5000);
  let stages = 0;
  let json = '';
  const ms = timeIt(() => {
    const program = loadProgramFromSource(new SourceFile('Ottofile', text));
    const { plan, diagnostics } = compilePlan(program, { context, project: 'bench', libraryPins: [] });
    if (!plan) throw new Error(`bench pipeline does not plan: ${diagnostics[0]?.message}`);
    stages = plan.stages.length;
    // What the store writes (planJson: compilePlan's own copy of the compact JSON).
    json = planJson(plan);
  }, 5, 1);
  const floor = timeIt(() => JSON.stringify(JSON.parse(json)), 5, 1);
  return [
    {
      name: `check + plan, 3-dimension matrix, ${stages} stages`,
      value: fmtMs(ms),
      target: '< 200 ms',
      ok: ms < 200,
      note: `(floor: JSON round trip of the ${(json.length / 1e6).toFixed(1)} MB plan ${fmtMs(floor)}, ratio ${(ms / floor).toFixed(1)}x)`,
    },
  ];
}

export function printPlan(): void {
  printSection('Plan: otto explain', benchPlan());
}
