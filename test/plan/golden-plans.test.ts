// Golden plans: every case of test/cases without errors also has plan.json and plan.txt, compiled
// for a fixed context (context.json in the case overrides it). UPDATE_GOLDEN=1 npm test rewrites them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, hasErrors, loadProgram } from '../../src/lang/index.js';
import { compilePlan, renderPlanText } from '../../src/plan/index.js';
import { planJson, type PlanContext } from '../../src/protocol/plan.js';
import { repoRoot } from '../helpers.js';

const casesDir = join(repoRoot, 'test', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

export const FIXED_CONTEXT: PlanContext = {
  event: 'push',
  branch: 'main',
  tag: '',
  sha: '1111111111111111111111111111111111111111',
  base: 'HEAD~1',
  vars: {},
  changedFiles: ['README.md', 'charts/api/values.yaml', 'charts/web/Chart.yaml'],
};

function compare(path: string, actual: string): void {
  if (update || !existsSync(path)) {
    if (!update) assert.fail(`${path} is missing; run UPDATE_GOLDEN=1 npm test`);
    writeFileSync(path, actual);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'));
}

for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  const program = loadProgram(join(dir, 'Ottofile'));
  if (hasErrors(check(program).diagnostics)) continue;
  test(`golden plan: ${name}`, () => {
    const override = existsSync(join(dir, 'context.json')) ? (JSON.parse(readFileSync(join(dir, 'context.json'), 'utf8')) as Partial<PlanContext>) : {};
    const { plan, diagnostics } = compilePlan(program, { context: { ...FIXED_CONTEXT, ...override }, project: name, libraryPins: [] });
    assert.ok(plan, diagnostics.map((d) => d.message).join('\n'));
    compare(join(dir, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
    // The compact JSON compilePlan keeps (the store writes it) is the plan's own, byte for byte.
    assert.equal(planJson(plan), JSON.stringify(plan));
    compare(join(dir, 'plan.txt'), renderPlanText(plan, { capabilities: new Set(['local']), file: 'Ottofile' }));
  });
}
