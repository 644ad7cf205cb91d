// `otto init`: write the inferred pipeline to Ottofile (never over an existing one).

import { existsSync, writeFileSync } from 'node:fs';
import { inferPipeline } from '../../plan/index.js';
import { EXIT, UsageError, writeOut } from '../io.js';

export function runInit(options: { force?: boolean }): number {
  if (existsSync('Ottofile') && !options.force) {
    throw new UsageError('Ottofile already exists', 'edit it, or pass --force to replace it with the inferred pipeline');
  }
  const inferred = inferPipeline(process.cwd());
  if (!inferred) {
    throw new UsageError('this does not look like a Node, Go, Rust, Python or Make project, so there is nothing to infer', 'write an Ottofile by hand: see docs/language.md');
  }
  writeFileSync('Ottofile', inferred.text);
  writeOut(`wrote Ottofile for a ${inferred.kind} project (from ${inferred.evidence}); see what it will do with: otto explain`);
  return EXIT.ok;
}
