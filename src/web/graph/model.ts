// The stage graph as nodes and edges, from a plan and (for a run) the state of its stages and gates.
// Gates become nodes of their own between what comes before a stage and the stage (enter) or
// between the stage and what follows it (exit); nested stages sit inside their parent's box.

import type { GateView, Plan, PlanGate, PlanStage, StageView } from '../lib/types.js';

export interface StageNode {
  readonly kind: 'stage';
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly status: string;
  readonly stage: PlanStage;
  readonly view: StageView | undefined;
  /** A stage with nested stages and nothing of its own to run: drawn as a small junction. */
  readonly junction: boolean;
  readonly cluster: string | null;
}

export interface GateNode {
  readonly kind: 'gate';
  readonly id: string;
  readonly stagePath: string;
  readonly phase: 'enter' | 'exit';
  readonly index: number;
  readonly gate: PlanGate;
  /** pending, waiting, skipped, or the decision (approved, rejected, passed, failed, timed_out, cancelled). */
  readonly status: string;
  readonly actor: string;
  readonly comment: string;
  readonly cluster: string | null;
}

export interface ClusterNode {
  readonly kind: 'cluster';
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly status: string;
  readonly cluster: string | null;
}

export type GraphNode = StageNode | GateNode | ClusterNode;

export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  /** Whether the edge leads to a stage that runs (false when the target is skipped). */
  readonly live: boolean;
}

export interface StageGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

export const stageId = (path: string): string => `s:${path}`;
export const clusterId = (path: string): string => `c:${path}`;
export const gateId = (path: string, phase: string, index: number): string =>
  `g:${phase}:${index}:${path}`;

export function gateKey(stage: string, phase: string, index: number): string {
  return `${stage}\0${phase}\0${index}`;
}

function hasOwnWork(s: PlanStage): boolean {
  return s.manifest.ops.some(
    (op) => op.op !== 'BEGINCTX' && op.op !== 'ENDCTX' && op.op !== 'SETVARS',
  );
}

export function buildGraph(
  plan: Plan,
  stages?: ReadonlyMap<string, StageView>,
  gates?: readonly GateView[],
): StageGraph {
  const children = new Set<string>();
  for (const s of plan.stages) if (s.parent !== null) children.add(s.parent);
  const decided = new Map<string, GateView>();
  const waiting = new Set<string>();
  for (const g of gates ?? []) {
    if (g.waiting) waiting.add(gateKey(g.stage, g.phase, g.index));
    else decided.set(gateKey(g.stage, g.phase, g.index), g);
  }

  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const entry = new Map<string, string>();
  const exit = new Map<string, string>();
  const skipped = (s: PlanStage): boolean =>
    s.skip !== null || stages?.get(s.path)?.status === 'skipped';
  const statusOf = (s: PlanStage): string =>
    stages?.get(s.path)?.status ?? (s.skip !== null ? 'skipped' : 'pending');

  for (const s of plan.stages) {
    const cluster = s.parent === null ? null : clusterId(s.parent);
    const isGroup = children.has(s.path);
    if (isGroup)
      nodes.push({
        kind: 'cluster',
        id: clusterId(s.path),
        path: s.path,
        name: s.name,
        status: statusOf(s),
        cluster,
      });
    const own = isGroup ? clusterId(s.path) : cluster;
    const sid = stageId(s.path);
    nodes.push({
      kind: 'stage',
      id: sid,
      path: s.path,
      name: s.name,
      status: statusOf(s),
      stage: s,
      view: stages?.get(s.path),
      junction:
        isGroup && !hasOwnWork(s) && s.gates.enter.length === 0 && s.gates.exit.length === 0,
      cluster: own,
    });

    const gateNode = (phase: 'enter' | 'exit', index: number, gate: PlanGate): string => {
      const key = gateKey(s.path, phase, index);
      const d = decided.get(key);
      const stageStatus = statusOf(s);
      let status = 'pending';
      if (d && !d.waiting) status = d.decision;
      else if (waiting.has(key)) status = 'waiting';
      else if (skipped(s) || stageStatus === 'skipped') status = 'skipped';
      else if (phase === 'enter' && stages && !['pending', 'waiting'].includes(stageStatus))
        status = 'passed';
      const id = gateId(s.path, phase, index);
      nodes.push({
        kind: 'gate',
        id,
        stagePath: s.path,
        phase,
        index,
        gate,
        status,
        actor: d && !d.waiting ? d.actor : '',
        comment: d && !d.waiting ? d.comment : '',
        cluster: own,
      });
      return id;
    };

    let first = sid;
    let prev: string | null = null;
    s.gates.enter.forEach((g, i) => {
      const id = gateNode('enter', i, g);
      if (prev) edges.push({ id: `${prev}->${id}`, source: prev, target: id, live: !skipped(s) });
      else first = id;
      prev = id;
    });
    if (prev) edges.push({ id: `${prev}->${sid}`, source: prev, target: sid, live: !skipped(s) });
    entry.set(s.path, first);
    let last = sid;
    s.gates.exit.forEach((g, i) => {
      const id = gateNode('exit', i, g);
      edges.push({ id: `${last}->${id}`, source: last, target: id, live: !skipped(s) });
      last = id;
    });
    exit.set(s.path, last);
  }

  for (const s of plan.stages) {
    for (const need of s.needs) {
      const source = exit.get(need);
      const target = entry.get(s.path);
      if (source && target)
        edges.push({ id: `${source}->${target}`, source, target, live: !skipped(s) });
    }
  }
  return { nodes, edges };
}

/** A gate in words: what it waits for. */
export function describeGate(g: PlanGate): string {
  if (g.kind === 'input')
    return `${g.message || 'Approval'}${g.approvers.length ? ` (approvers: ${g.approvers.join(', ')})` : ''}`;
  if (g.kind === 'webhook') return g.description || 'a callback from an external system';
  return `${g.url} answers ${g.expect}${g.contains ? ` containing “${g.contains}”` : ''}`;
}

export function gateKindLabel(g: PlanGate): string {
  return g.kind === 'input' ? 'Approval' : g.kind === 'webhook' ? 'Webhook' : 'Poll';
}
