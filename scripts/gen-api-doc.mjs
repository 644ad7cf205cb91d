#!/usr/bin/env node
// Regenerates docs/api.md from the server's OpenAPI document (run after `npm run build`): the app is
// built with an in-memory store and never listens.
import { readFileSync, writeFileSync } from 'node:fs';
const { openApiApp, renderApiDoc } = await import('../dist/src/server/openapi-doc.js');
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const doc = await openApiApp(version);
try {
  writeFileSync(new URL('../docs/api.md', import.meta.url), renderApiDoc(doc.app.swagger()));
} finally {
  await doc.close();
}
console.log('wrote docs/api.md');
