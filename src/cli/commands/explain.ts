// `otto explain [FILE]`: the plan of a pipeline for a trigger context, as text, JSON, dot or Mermaid.

import { existsSync } from 'node:fs';
import { renderDiagnostics } from '../../lang/index.js';
import { ContextError, inferPipeline, planFile, renderDot, renderMermaid, renderPlanText, type ContextFlags } from '../../plan/index.js';
import { detectCapabilities } from '../../util/capabilities.js';
import { displayPath, EXIT, UsageError, useColor, writeErr, writeOut } from '../io.js';
import { assertReadable } from './check.js';

export interface ExplainOptions extends ContextFlags {
  readonly json?: boolean;
  readonly format?: string;
}

const FORMATS = ['text', 'json', 'dot', 'mermaid'];

export function runExplain(fileArg: string | undefined, options: ExplainOptions): number {
  const format = options.json ? 'json' : (options.format ?? 'text');
  if (!FORMATS.includes(format)) throw new UsageError(`unknown format '${format}'`, `formats are ${FORMATS.join(', ')}`);
  let file = fileArg ?? 'Ottofile';
  let text: string | undefined;
  if (fileArg === undefined && !existsSync(file)) {
    const inferred = inferPipeline(process.cwd());
    if (!inferred) {
      throw new UsageError("there is no Ottofile here, and this does not look like a Node, Go, Rust, Python or Make project", 'write an Ottofile (see docs/language.md), or name a pipeline file: otto explain ci.otto');
    }
    text = inferred.text;
    if (format === 'text') writeErr(`No Ottofile here: this is the pipeline Otto infers for a ${inferred.kind} project (from ${inferred.evidence}). \`otto init\` writes it to Ottofile.\n`);
    file = 'Ottofile';
  } else {
    assertReadable(file);
  }
  let planned;
  try {
    planned = planFile(file, options, text);
  } catch (e) {
    if (e instanceof ContextError) throw new UsageError(e.message, e.help);
    throw e;
  }
  const { plan, diagnostics } = planned;
  if (!plan) {
    writeOut(`${renderDiagnostics(diagnostics, { color: useColor(process.stdout), displayPath })}\n`);
    writeErr(`${displayPath(file)}: invalid pipeline; nothing was planned`);
    return EXIT.failed;
  }
  if (diagnostics.length && format === 'text') writeErr(`${renderDiagnostics(diagnostics, { color: useColor(process.stderr), displayPath })}\n`);
  switch (format) {
    case 'json':
      writeOut(JSON.stringify(plan, null, 2));
      break;
    case 'dot':
      process.stdout.write(renderDot(plan));
      break;
    case 'mermaid':
      process.stdout.write(renderMermaid(plan));
      break;
    default:
      process.stdout.write(renderPlanText(plan, { color: useColor(process.stdout), capabilities: new Set(detectCapabilities()), file: displayPath(file) }));
  }
  return EXIT.ok;
}
