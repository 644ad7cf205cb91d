// Words for the parts of a plan: runtimes, gates, caches — shared by every explain format.

import type { PlanGate, PlanRuntime, PlanStage } from '../../protocol/plan.js';

export function describeRuntime(r: PlanRuntime): string {
  switch (r.kind) {
    case 'local':
      return 'local';
    case 'sandbox':
      return `sandbox${r.network ? '' : ' (no network)'}`;
    case 'docker':
      return `docker ${r.image}`;
    case 'computer':
      return `computer labelled '${r.label}'`;
    case 'kubernetes':
      return `kubernetes ${r.image} in ${r.namespace}`;
    case 'microvm':
      return `microvm ${r.image}`;
  }
}

/** The capability an agent needs to run a runtime (null: every agent can). */
export function requiredCapability(r: PlanRuntime): string | null {
  switch (r.kind) {
    case 'local':
      return null;
    case 'computer':
      return `label:${r.label}`;
    default:
      return r.kind;
  }
}

export function describeGate(g: PlanGate): string {
  switch (g.kind) {
    case 'input':
      return `waits for a person: "${g.message}"${g.approvers.length ? ` (approvers: ${g.approvers.join(', ')})` : ''}, up to ${duration(g.timeoutMs)}`;
    case 'webhook':
      return `waits for a callback: ${g.description}, up to ${duration(g.timeoutMs)}`;
    case 'poll':
      return `polls ${g.url} every ${duration(g.intervalMs)} until HTTP ${g.expect}${g.contains ? ` containing "${g.contains}"` : ''}, up to ${duration(g.timeoutMs)}`;
  }
}

export function shortGate(g: PlanGate): string {
  switch (g.kind) {
    case 'input':
      return `input: ${g.message}`;
    case 'webhook':
      return `webhook: ${g.description}`;
    case 'poll':
      return `poll: ${g.url}`;
  }
}

export function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The step lines of a stage, one short line each. */
export function stepLines(stage: PlanStage): string[] {
  const out: string[] = [];
  for (const op of stage.manifest.ops) {
    switch (op.op) {
      case 'RUNPROC':
        out.push(op.command.length ? `${op.label} (step library)` : `sh ${op.label}${op.cwd !== '.' ? `  (in ${op.cwd})` : ''}`);
        break;
      case 'EMIT':
        out.push(op.kind === 'fail' ? `error ${op.message}` : `echo ${op.message}`);
        break;
      case 'STORE':
        out.push(`archive ${op.patterns.join(', ')} as '${op.artifact}'`);
        break;
      case 'FETCH':
        out.push(`unarchive '${op.artifact}' into ${op.into}`);
        break;
    }
  }
  return out;
}
