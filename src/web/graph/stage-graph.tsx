// The stage graph drawn with React Flow: stages, gates (as their own nodes, saying what they wait
// for) and nested stages in their parent's box. The layout is computed once per plan; state
// changes only repaint the nodes whose data changed. Off-screen nodes are not rendered.

import '@xyflow/react/dist/base.css';
import {
  Background,
  Controls,
  type Edge,
  Handle,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
  type ReactFlowInstance,
} from '@xyflow/react';
import { createContext, memo, useContext, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { StatusIcon, statusLook } from '../components/status.js';
import { duration } from '../lib/format.js';
import type { GateView, Plan, StageView } from '../lib/types.js';
import { layoutOf } from './layout.js';
import {
  buildGraph,
  type ClusterNode,
  describeGate,
  type GateNode,
  gateKindLabel,
  type GraphNode,
  type StageNode,
  stageId,
} from './model.js';

export interface StageGraphProps {
  readonly plan: Plan;
  readonly stages?: ReadonlyMap<string, StageView>;
  readonly gates?: readonly GateView[];
  readonly selected?: string | null;
  /** The link a stage node leads to (its log), or undefined for none. */
  readonly hrefFor?: (path: string) => string | undefined;
  readonly onSelect?: (path: string) => void;
  /** Current time for the durations of running stages. */
  readonly now?: number;
  readonly label: string;
}

interface Ctx {
  /** Drawing a plan (the explain view): nothing has happened yet, so states read as intentions. */
  readonly planOnly: boolean;
  readonly hrefFor: ((path: string) => string | undefined) | undefined;
  readonly onSelect: ((path: string) => void) | undefined;
  readonly now: number;
}

const GraphContext = createContext<Ctx>({
  planOnly: false,
  hrefFor: undefined,
  onSelect: undefined,
  now: 0,
});

type Data = { node: GraphNode; selected: boolean };

function stageSubtitle(n: StageNode, now: number, planOnly: boolean): string {
  const v = n.view;
  if (n.status === 'skipped') return n.stage.skip ?? v?.message ?? 'skipped';
  const parts: string[] = [planOnly ? 'will run' : statusLook(n.status).label];
  const ms = v
    ? (v.durationMs ??
      (v.startedAt && ['running', 'queued'].includes(n.status)
        ? now - Date.parse(v.startedAt)
        : null))
    : null;
  if (ms !== null && ms !== undefined) parts.push(duration(ms));
  if (v && v.attempt > 1) parts.push(`attempt ${v.attempt}`);
  if (n.stage.environment) parts.push(`→ ${n.stage.environment}`);
  if (n.stage.allowFailure) parts.push('may fail');
  return parts.join(' · ');
}

const StageCard = memo(function StageCard({ data }: NodeProps<Node<Data>>) {
  const { hrefFor, onSelect, now, planOnly } = useContext(GraphContext);
  const n = data.node as StageNode;
  const href = hrefFor?.(n.path);
  const subtitle = stageSubtitle(n, now, planOnly);
  const title = `${n.path}: ${subtitle}${n.view?.message && n.status !== 'skipped' ? ` — ${n.view.message}` : ''}`;
  if (n.junction) {
    return (
      <div
        className={`junction tone-${statusLook(n.status).tone}`}
        title={title}
        data-stage={n.path}
        data-status={n.status}
      >
        <Handle type="target" position={Position.Left} isConnectable={false} />
        <StatusIcon status={n.status} size={14} />
        <Handle type="source" position={Position.Right} isConnectable={false} />
      </div>
    );
  }
  const body = (
    <>
      <span className="node-title">
        <StatusIcon status={n.status} />
        <span className="node-name">{n.name}</span>
      </span>
      <span className="node-sub">{subtitle}</span>
    </>
  );
  return (
    <div
      className={`stage-node tone-${statusLook(n.status).tone}${data.selected ? ' selected' : ''}${n.status === 'skipped' ? ' skipped' : ''}`}
      title={title}
      data-stage={n.path}
      data-status={n.status}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {href ? (
        <a
          href={href}
          className="node-link nopan"
          aria-label={`Stage ${n.path}, ${subtitle}`}
          aria-current={data.selected ? 'true' : undefined}
          onClick={(e) => {
            if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
            e.preventDefault();
            onSelect?.(n.path);
          }}
        >
          {body}
        </a>
      ) : (
        <button
          type="button"
          className="node-link nopan"
          aria-label={`Stage ${n.path}, ${subtitle}`}
          onClick={() => onSelect?.(n.path)}
        >
          {body}
        </button>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const GateCard = memo(function GateCard({ data }: NodeProps<Node<Data>>) {
  const { planOnly } = useContext(GraphContext);
  const n = data.node as GateNode;
  const state = planOnly
    ? n.status === 'skipped'
      ? 'skipped'
      : 'will wait'
    : statusLook(n.status).label;
  const who = n.actor ? ` by ${n.actor}` : '';
  const timeout = n.gate.timeoutMs ? ` · timeout ${duration(n.gate.timeoutMs)}` : '';
  return (
    <div
      className={`gate-node tone-${statusLook(n.status).tone}`}
      title={`${gateKindLabel(n.gate)} ${n.phase === 'enter' ? 'before' : 'after'} ${n.stagePath}: ${describeGate(n.gate)} — ${state}${who}${n.comment ? `: “${n.comment}”` : ''}`}
      data-gate={`${n.stagePath}:${n.phase}:${n.index}`}
      data-status={n.status}
      role="img"
      aria-label={`${gateKindLabel(n.gate)} gate ${n.phase === 'enter' ? 'before' : 'after'} ${n.stagePath}: ${describeGate(n.gate)}; ${state}${who}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="node-title">
        <StatusIcon status={n.status} />
        <span className="node-name">
          {gateKindLabel(n.gate)}: {describeGate(n.gate)}
        </span>
      </span>
      <span className="node-sub">
        {state}
        {who}
        {timeout}
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const ClusterCard = memo(function ClusterCard({ data }: NodeProps<Node<Data>>) {
  const { planOnly } = useContext(GraphContext);
  const n = data.node as ClusterNode;
  return (
    <div className={`cluster-node tone-${statusLook(n.status).tone}`} data-cluster={n.path}>
      <span className="cluster-title">
        <StatusIcon status={n.status} size={14} /> {n.name}{' '}
        <span className="cluster-status">
          {planOnly
            ? n.status === 'skipped'
              ? 'skipped'
              : 'will run'
            : statusLook(n.status).label}
        </span>
      </span>
    </div>
  );
});

const nodeTypes = { stage: StageCard, gate: GateCard, cluster: ClusterCard };

export default function StageGraph({
  plan,
  stages,
  gates,
  selected,
  hrefFor,
  onSelect,
  now = 0,
  label,
}: StageGraphProps) {
  // Structure (and so the layout) depends on the plan only.
  const layout = useMemo(() => {
    // Marks for the benchmark (bench/ui.ts) and the browser's performance panel.
    performance.mark('otto:graph:layout-start');
    const l = layoutOf(plan, () => buildGraph(plan));
    performance.measure('otto:graph:layout', 'otto:graph:layout-start');
    return l;
  }, [plan]);
  const graph = useMemo(() => buildGraph(plan, stages, gates), [plan, stages, gates]);
  const container = useRef<HTMLDivElement>(null);

  const nodes = useMemo<Node<Data>[]>(
    () =>
      graph.nodes.map((n) => {
        const box = layout.boxes.get(n.id) ?? { x: 0, y: 0, width: 10, height: 10 };
        return {
          id: n.id,
          type: n.kind,
          position: { x: box.x, y: box.y },
          width: box.width,
          height: box.height,
          data: { node: n, selected: n.kind === 'stage' && n.path === selected },
          draggable: false,
          selectable: false,
          focusable: false,
          zIndex: n.kind === 'cluster' ? 0 : 1,
        };
      }),
    [graph, layout, selected],
  );

  const edges = useMemo<Edge[]>(() => {
    const running = new Set(
      graph.nodes.filter((n) => n.kind === 'stage' && n.status === 'running').map((n) => n.id),
    );
    return graph.edges.map((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      type: 'smoothstep',
      animated: running.has(e.target),
      className: e.live ? undefined : 'edge-skipped',
      focusable: false,
      selectable: false,
      zIndex: 1,
    }));
  }, [graph]);

  const onInit = (instance: ReactFlowInstance<Node<Data>, Edge>): void => {
    requestAnimationFrame(() => setTimeout(() => performance.mark('otto:graph:painted')));
    const el = container.current;
    const w = el?.clientWidth ?? 800;
    const h = el?.clientHeight ?? 400;
    const fit = Math.min(w / (layout.width + 32), h / (layout.height + 32));
    if (fit >= 0.6) {
      void instance.fitView({ padding: 0.08, maxZoom: 1 });
      return;
    }
    // Too big to read when fitted: start at a readable zoom on the selected or first stage.
    const zoom = 0.75;
    const focus = (selected && layout.boxes.get(stageId(selected))) ||
      layout.boxes.get(stageId(plan.stages[0]?.path ?? '')) || { x: 0, y: 0, width: 0, height: 0 };
    const x = selected ? -(focus.x + focus.width / 2) * zoom + w / 2 : -focus.x * zoom + 16;
    void instance.setViewport({ x, y: -(focus.y + focus.height / 2) * zoom + h / 2, zoom });
  };

  const ctx = useMemo<Ctx>(
    () => ({ planOnly: !stages, hrefFor, onSelect, now }),
    [stages, hrefFor, onSelect, now],
  );

  // The box is as tall as the graph needs at the zoom that fits its width (within limits).
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = container.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  const fitZoom = width ? Math.min(1, (width - 40) / (layout.width + 16)) : 1;
  const tall = Math.round(window.innerHeight * 0.6);
  // Fitted when readable that way; otherwise shown at 75 % from the start (see onInit).
  const zoom = fitZoom >= 0.6 ? fitZoom : 0.75;
  const height = Math.max(200, Math.min(tall, Math.round(layout.height * zoom + 80)));

  return (
    <GraphContext.Provider value={ctx}>
      <div
        className="graph"
        ref={container}
        role="group"
        aria-label={label}
        data-nodes={graph.nodes.length}
        style={{ height }}
      >
        {width ? (
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onInit={onInit}
            onlyRenderVisibleElements
            nodesDraggable={false}
            nodesConnectable={false}
            nodesFocusable={false}
            edgesFocusable={false}
            elementsSelectable={false}
            minZoom={0.05}
            maxZoom={1.5}
            proOptions={{ hideAttribution: true }}
            zoomOnDoubleClick={false}
          >
            <Background gap={24} size={1} />
            <Controls showInteractive={false} position="top-right" orientation="horizontal" />
          </ReactFlow>
        ) : null}
      </div>
    </GraphContext.Provider>
  );
}
