// Plans a pipeline file on disk: loads it with its libraries, resolves the context, compiles.

import { basename, dirname, resolve } from 'node:path';
import { loadProgram, loadProgramFromSource, SourceFile, type Diagnostic, type Program } from '../lang/index.js';
import type { Plan } from '../protocol/plan.js';
import { compilePlan } from './compile.js';
import { resolveContext, type ContextFlags } from './git-context.js';
import { libraryCacheRoot, treeDigest } from './library-cache.js';
import { libraryPins } from './lock.js';
import { lockResolver } from './lock-resolver.js';

export interface PlannedFile {
  readonly plan: Plan | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly program: Program;
}

/** The project name: the directory holding the pipeline file. */
export function projectName(file: string): string {
  return basename(dirname(resolve(file))) || 'project';
}

export function planFile(file: string, flags: ContextFlags, text?: string, project?: string): PlannedFile {
  const context = resolveContext(file, flags);
  const program =
    text === undefined
      ? loadProgram(file, { resolveRemote: lockResolver(file) })
      : loadProgramFromSource(new SourceFile(file, text), { resolveRemote: lockResolver(file) });
  const { plan, diagnostics } = compilePlan(program, {
    context,
    project: project ?? projectName(file),
    libraryPins: libraryPins(program, file),
    localLibraryDigest: (dir) => `sha256:${treeDigest(dir)}`,
    libraryCacheRoot: libraryCacheRoot(),
  });
  return { plan, diagnostics, program };
}
