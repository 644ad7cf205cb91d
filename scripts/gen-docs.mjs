#!/usr/bin/env node
// Regenerates the docs that are derived from code (run after `npm run build`).
import { writeFileSync } from 'node:fs';
const { renderDiagnosticsDoc } = await import('../dist/src/lang/docs/diagnostics-doc.js');
writeFileSync(new URL('../docs/diagnostics.md', import.meta.url), renderDiagnosticsDoc());
console.log('wrote docs/diagnostics.md');
