// `npm run bench`: every benchmark in one run, printing results, targets and ratios.
// Not a test: timings depend on the machine. Pass section names to run only some.

import { printLanguage } from './lang.js';
import { printPlan } from './plan.js';

const sections: Record<string, () => void | Promise<void>> = {
  language: printLanguage,
  plan: printPlan,
};

const wanted = process.argv.slice(2);
console.log(`# Otto benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cores)`);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  await run();
}
