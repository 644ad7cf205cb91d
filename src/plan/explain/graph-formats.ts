// The stage graph as Graphviz dot or Mermaid: stages as boxes, waits as their own diamond nodes.

import type { Plan, PlanStage } from '../../protocol/plan.js';
import { shortGate } from './describe.js';

interface Node {
  readonly id: string;
  readonly label: string;
  readonly kind: 'stage' | 'gate';
  readonly skipped: boolean;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Stages and gates as nodes; a stage's enter waits come before it, its exit waits after it. */
function graph(plan: Plan): { nodes: Node[]; edges: Edge[] } {
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  const ids = new Map<string, string>();
  const exitOf = new Map<string, string>();
  plan.stages.forEach((s, i) => ids.set(s.path, `s${i}`));
  plan.stages.forEach((s: PlanStage, i) => {
    const id = `s${i}`;
    nodes.push({ id, label: s.path, kind: 'stage', skipped: s.skip !== null });
    let entry = id;
    s.gates.enter.forEach((g, k) => {
      const gid = `${id}_enter${k}`;
      nodes.push({ id: gid, label: shortGate(g), kind: 'gate', skipped: s.skip !== null });
      edges.push({ from: gid, to: entry });
      entry = gid;
    });
    let exit = id;
    s.gates.exit.forEach((g, k) => {
      const gid = `${id}_exit${k}`;
      nodes.push({ id: gid, label: shortGate(g), kind: 'gate', skipped: s.skip !== null });
      edges.push({ from: exit, to: gid });
      exit = gid;
    });
    exitOf.set(s.path, exit);
    for (const need of s.needs) {
      const from = need === s.parent ? ids.get(need) : (exitOf.get(need) ?? ids.get(need));
      if (from) edges.push({ from, to: entry });
    }
  });
  return { nodes, edges };
}

export function renderDot(plan: Plan): string {
  const { nodes, edges } = graph(plan);
  const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const out = ['digraph otto {', '  rankdir=LR;', '  node [shape=box, style=rounded, fontname="sans-serif"];'];
  for (const n of nodes) {
    const attrs = [`label=${q(n.label)}`];
    if (n.kind === 'gate') attrs.push('shape=diamond');
    if (n.skipped) attrs.push(n.kind === 'gate' ? 'style=dashed' : 'style="rounded,dashed"', 'fontcolor=gray50');
    out.push(`  ${n.id} [${attrs.join(', ')}];`);
  }
  for (const e of edges) out.push(`  ${e.from} -> ${e.to};`);
  out.push('}');
  return out.join('\n') + '\n';
}

export function renderMermaid(plan: Plan): string {
  const { nodes, edges } = graph(plan);
  const q = (s: string): string => `"${s.replace(/"/g, '#quot;')}"`;
  const out = ['flowchart LR'];
  for (const n of nodes) out.push(n.kind === 'gate' ? `  ${n.id}{${q(n.label)}}` : `  ${n.id}[${q(n.label)}]`);
  for (const e of edges) out.push(`  ${e.from} --> ${e.to}`);
  const skipped = nodes.filter((n) => n.skipped).map((n) => n.id);
  if (skipped.length) {
    out.push('  classDef skipped stroke-dasharray: 5 5,color:#888');
    out.push(`  class ${skipped.join(',')} skipped`);
  }
  return out.join('\n') + '\n';
}
