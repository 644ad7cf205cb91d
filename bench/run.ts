// `npm run bench`: every benchmark in one run, printing results, targets and ratios.
// Not a test: timings depend on the machine. Pass section names to run only some
// (`npm run bench run`, `npm run bench peers`).
//
// Sections: language, plan, run (otto run end to end, bench/run-bench.ts), objects (bench/objects.ts),
// server (bench/server.ts), ui (the built web UI in Chromium, bench/ui.ts) and peers (Buildbot on this machine, bench/peers.ts). Peers takes minutes and may install Debian packages, so a plain
// `npm run bench` includes it only when OTTO_BENCH_PEERS=1 or buildbot is already installed, and says
// which; `npm run bench peers` runs it (installing buildbot with apt-get if needed); OTTO_BENCH_PEERS=0
// skips it always.

import { cpus, loadavg } from 'node:os';
import { printLanguage } from './lang.js';
import { peersByDefault, printPeers } from './peers.js';
import { printPlan } from './plan.js';
import { printRun } from './run-bench.js';
import { printSection } from './util.js';

const sections: Record<string, () => void | Promise<void>> = {
  language: printLanguage,
  plan: printPlan,
  run: printRun,
  objects: async () => (await import('./objects.js')).printObjects(),
  server: async () => (await import('./server.js')).printServer(),
  ui: async () => {
    const { benchUi, uiBenchSkipReason } = await import('./ui.js');
    const skip = uiBenchSkipReason();
    if (skip) console.log(`\n## Web UI (headless Chromium)\n\nskipped: ${skip}`);
    else printSection('Web UI (headless Chromium)', await benchUi());
  },
  peers: printPeers,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in sections));
if (unknown.length) {
  console.error(`unknown benchmark section${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')} (sections: ${Object.keys(sections).join(', ')})`);
  process.exit(2);
}
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`# Otto benchmarks (${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load ${load})`);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  if (name === 'peers' && !wanted.length) {
    const { include, reason } = peersByDefault();
    console.log(`\n${reason}`);
    if (!include) continue;
  }
  await run();
}
