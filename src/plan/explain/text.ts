// The human form of `otto explain`: stages in order, nesting and parallel groups, and for each
// what it runs on, what it waits for, what it caches, which secrets it gets, and why it is skipped.

import pc from 'picocolors';
import type { Plan, PlanStage } from '../../protocol/plan.js';
import { describeGate, describeRuntime, duration, requiredCapability, stepLines } from './describe.js';

export interface TextOptions {
  readonly color?: boolean;
  /** Capabilities this machine offers ('sandbox', 'docker', 'label:x', …): others are flagged. */
  readonly capabilities?: ReadonlySet<string>;
  readonly file?: string;
}

export function renderPlanText(plan: Plan, options: TextOptions = {}): string {
  const c = pc.createColors(options.color ?? false);
  const out: string[] = [];
  const ctx = plan.context;
  out.push(`${c.bold(options.file ?? plan.pipeline.name)}  plan ${plan.planHash.slice(0, 19)}…  (${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'})`);
  const vars = Object.entries(ctx.vars).map(([k, v]) => `${k}=${v}`);
  out.push(
    c.dim(
      `event ${ctx.event}, branch ${ctx.branch || '(none)'}, ${ctx.tag ? `tag ${ctx.tag}` : 'no tag'}, sha ${ctx.sha ? ctx.sha.slice(0, 12) : '(none)'}` +
        (vars.length ? `, vars ${vars.join(' ')}` : '') +
        (ctx.base ? `, ${ctx.changedFiles.length} file(s) changed since ${ctx.base}` : ''),
    ),
  );
  if (plan.stages.length === 0) {
    out.push('', 'The pipeline has no stages: a run does nothing.');
    return out.join('\n') + '\n';
  }
  out.push('');
  const depth = new Map<string, number>();
  const groups = parallelGroups(plan.stages);
  for (let i = 0; i < plan.stages.length; i++) {
    const s = plan.stages[i] as PlanStage;
    const d = s.parent ? (depth.get(s.parent) ?? 0) + 1 : 0;
    const group = groups.get(s.path);
    const inGroup = group !== undefined;
    depth.set(s.path, d + (inGroup ? 1 : 0));
    const indent = '  '.repeat(d);
    if (group && group.first === s.path) {
      out.push(`${indent}${c.cyan('parallel')}${group.failFast ? c.dim(' (fail fast)') : ''}:`);
    }
    const ind = indent + (inGroup ? '  ' : '');
    const marker = s.skip ? c.yellow('○') : c.green('●');
    const name = s.skip ? c.dim(s.name) : c.bold(s.name);
    const tags: string[] = [];
    if (s.skip) tags.push(c.yellow('skipped'));
    if (s.allowFailure) tags.push('may fail');
    out.push(`${ind}${marker} ${name}${tags.length ? `  ${tags.join(', ')}` : ''}`);
    const detail = (label: string, value: string): void => {
      out.push(`${ind}    ${c.dim(label.padEnd(11))} ${value}`);
    };
    if (s.skip) detail('why', s.skip);
    const cap = requiredCapability(s.runtime);
    const missing = cap !== null && options.capabilities !== undefined && !options.capabilities.has(cap);
    if (s.runtime.kind !== 'local' || s.workspaceFrom) {
      detail('runtime', `${describeRuntime(s.runtime)}${s.workspaceFrom ? `, starting from the workspace of ${s.workspaceFrom}` : ''}${missing ? c.red(`  (needs ${cap}, which this machine does not offer)`) : ''}`);
    }
    if (s.environment) {
      const env = plan.environments.find((e) => e.name === s.environment);
      const settings = env ? Object.keys(env.settings) : [];
      detail('deploys to', `${s.environment}${settings.length ? ` (${settings.join(', ')})` : ''}`);
    }
    if (s.credentials.length) detail('secrets', s.credentials.join(', '));
    for (const g of s.gates.enter) detail('before', describeGate(g));
    if (s.caches.restore.length) detail('restores', s.caches.restore.map((n) => `cache ${n}`).join(', '));
    const steps = stepLines(s);
    steps.forEach((line, k) => detail(k === 0 ? 'steps' : '', line));
    if (s.caches.save.length) {
      detail('saves', s.caches.save.map((x) => `cache ${x.name} (${x.paths.join(', ')}${x.keyFiles.length ? `; key ${x.keyFiles.join(', ')}` : ''}${x.when === 'always' ? '; always' : ''})`).join(', '));
    }
    for (const g of s.gates.exit) detail('after', describeGate(g));
    const limits: string[] = [];
    if (s.timeoutMs !== 3_600_000) limits.push(`timeout ${duration(s.timeoutMs)}`);
    if (s.retry) limits.push(`retry ${s.retry}`);
    if (s.concurrency) limits.push(`one at a time in '${s.concurrency}'`);
    if (limits.length) detail('limits', limits.join(', '));
    for (const n of s.notify) detail(`on ${n.on}`, n.kind === 'http' ? `http ${n.method} ${n.target}` : `${n.kind} ${n.message}`);
  }
  return out.join('\n') + '\n';
}

/** Consecutive siblings that start together (same parent, same needs) form a parallel group. */
function parallelGroups(stages: readonly PlanStage[]): Map<string, { first: string; failFast: boolean }> {
  const out = new Map<string, { first: string; failFast: boolean }>();
  const key = (s: PlanStage): string => `${s.parent ?? ''}\0${s.needs.join('\0')}`;
  const byKey = new Map<string, PlanStage[]>();
  for (const s of stages) {
    const k = key(s);
    const list = byKey.get(k) ?? [];
    list.push(s);
    byKey.set(k, list);
  }
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    const first = list[0] as PlanStage;
    for (const s of list) out.set(s.path, { first: first.path, failFast: s.failFastGroup !== null });
  }
  return out;
}
