// Positions for the stage graph: a layered layout, left to right, made for pipelines. Each stage
// goes in the first column its needs allow (longest path), columns are ordered to keep edges from
// crossing (barycentre sweeps), and each node sits level with what it needs where it can.
// Nested stages are laid out inside their parent's box first; the box is then one node of the
// level above. Linear in the size of the graph apart from the sorts: a 500-stage plan takes a few
// milliseconds, where dagre (tried first) took 200–400 ms of the one-second budget.

import type { StageGraph } from './model.js';

export const SIZES = {
  stage: { width: 210, height: 58 },
  junction: { width: 22, height: 22 },
  gate: { width: 190, height: 58 },
} as const;

const RANK_SEP = 46;
const NODE_SEP = 18;
const MARGIN = 16;
/** Room inside a cluster's box: its title on top, a border around. */
const PAD = { top: 30, side: 14, bottom: 14 };

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly boxes: ReadonlyMap<string, Box>;
  readonly width: number;
  readonly height: number;
}

/**
 * Layouts by plan: a plan's layout never changes, and React may render a component more than once
 * before committing it (which would otherwise lay a large graph out twice).
 */
const cache = new WeakMap<object, Layout>();

export function layoutOf(plan: object, graph: () => StageGraph): Layout {
  let l = cache.get(plan);
  if (!l) {
    l = layoutGraph(graph());
    cache.set(plan, l);
  }
  return l;
}

interface Level {
  readonly items: string[];
  readonly edges: Array<[string, string]>;
}

export function layoutGraph(graph: StageGraph): Layout {
  const size = new Map<string, { width: number; height: number }>();
  const parent = new Map<string, string | null>();
  const levels = new Map<string | null, Level>();
  const level = (id: string | null): Level => {
    let l = levels.get(id);
    if (!l) levels.set(id, (l = { items: [], edges: [] }));
    return l;
  };
  for (const n of graph.nodes) {
    parent.set(n.id, n.cluster);
    level(n.cluster).items.push(n.id);
    if (n.kind === 'cluster') level(n.id);
    else size.set(n.id, n.kind === 'gate' ? SIZES.gate : n.junction ? SIZES.junction : SIZES.stage);
  }
  // An edge between two nodes belongs to the innermost level holding both, between the items of
  // that level that contain them (a nested stage's edge to the outside leaves from its box).
  const chain = (id: string): string[] => {
    const out = [id];
    for (let p = parent.get(id) ?? null; p !== null; p = parent.get(p) ?? null) out.push(p);
    return out;
  };
  const seen = new Set<string>();
  for (const e of graph.edges) {
    const a = chain(e.source);
    const b = chain(e.target);
    const bSet = new Set(b);
    // The first cluster (or the root) that contains both.
    let common: string | null = null;
    for (const c of a.slice(1)) {
      if (bSet.has(c)) {
        common = c;
        break;
      }
    }
    const itemOf = (ch: string[]): string =>
      ch[(common === null ? ch.length : ch.indexOf(common)) - 1] as string;
    const from = itemOf(a);
    const to = itemOf(b);
    const key = `${from}\0${to}`;
    if (from !== to && !seen.has(key)) {
      seen.add(key);
      level(common).edges.push([from, to]);
    }
  }

  // Inner levels first: a cluster's size is its content's.
  const relative = new Map<string, { x: number; y: number }>();
  const order: Array<string | null> = [];
  const visit = (id: string | null): void => {
    for (const item of level(id).items) if (levels.has(item)) visit(item);
    order.push(id);
  };
  visit(null);
  for (const id of order) {
    const { width, height, positions } = layoutLevel(level(id), size);
    for (const [item, p] of positions) relative.set(item, p);
    if (id !== null)
      size.set(id, { width: width + PAD.side * 2, height: height + PAD.top + PAD.bottom });
  }

  // Absolute positions, from the root down.
  const boxes = new Map<string, Box>();
  let width = 0;
  let height = 0;
  const place = (id: string | null, ox: number, oy: number): void => {
    for (const item of level(id).items) {
      const p = relative.get(item) ?? { x: 0, y: 0 };
      const s = size.get(item) ?? SIZES.stage;
      const box = { x: ox + p.x, y: oy + p.y, width: s.width, height: s.height };
      boxes.set(item, box);
      width = Math.max(width, box.x + box.width);
      height = Math.max(height, box.y + box.height);
      if (levels.has(item)) place(item, box.x + PAD.side, box.y + PAD.top);
    }
  };
  place(null, MARGIN, MARGIN);
  return { boxes, width: width + MARGIN, height: height + MARGIN };
}

function layoutLevel(
  level: Level,
  size: ReadonlyMap<string, { width: number; height: number }>,
): { width: number; height: number; positions: Map<string, { x: number; y: number }> } {
  const { items, edges } = level;
  const preds = new Map<string, string[]>(items.map((i) => [i, []]));
  const succs = new Map<string, string[]>(items.map((i) => [i, []]));
  for (const [a, b] of edges) {
    preds.get(b)?.push(a);
    succs.get(a)?.push(b);
  }

  // Ranks: longest path from the sources, in topological order (Kahn). Items left over by a cycle,
  // which plans do not have, go after the rest rather than breaking the drawing.
  const rank = new Map<string, number>();
  const indegree = new Map(items.map((i) => [i, preds.get(i)!.length]));
  const queue = items.filter((i) => indegree.get(i) === 0);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q] as string;
    const r = Math.max(0, ...preds.get(v)!.map((p) => (rank.get(p) ?? -1) + 1));
    rank.set(v, r);
    for (const s of succs.get(v)!) {
      indegree.set(s, (indegree.get(s) as number) - 1);
      if (indegree.get(s) === 0) queue.push(s);
    }
  }
  let maxRank = Math.max(-1, ...rank.values());
  for (const i of items) if (!rank.has(i)) rank.set(i, ++maxRank);

  const columns: string[][] = Array.from({ length: maxRank + 1 }, () => []);
  for (const i of items) columns[rank.get(i) as number]!.push(i);

  // Order within columns: barycentre of neighbours' positions, sweeping right then left.
  const pos = new Map<string, number>();
  const index = (col: string[]): void => col.forEach((v, k) => pos.set(v, k));
  columns.forEach(index);
  const sortBy = (col: string[], neighbours: Map<string, string[]>): void => {
    const key = new Map<string, number>();
    for (const v of col) {
      const ns = neighbours.get(v)!;
      key.set(
        v,
        ns.length
          ? ns.reduce((s, n) => s + (pos.get(n) as number), 0) / ns.length
          : (pos.get(v) as number),
      );
    }
    col.sort((a, b) => (key.get(a) as number) - (key.get(b) as number));
    index(col);
  };
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let r = 1; r <= maxRank; r++) sortBy(columns[r]!, preds);
    for (let r = maxRank - 1; r >= 0; r--) sortBy(columns[r]!, succs);
  }
  for (let r = 1; r <= maxRank; r++) sortBy(columns[r]!, preds);

  // x: columns as wide as their widest item. y: each item level with what it needs where it can,
  // without overlapping its column neighbours; then the column moves as a whole to sit centred on
  // its needs.
  const positions = new Map<string, { x: number; y: number }>();
  const centre = new Map<string, number>();
  let x = 0;
  let top = Infinity;
  let bottom = -Infinity;
  for (const col of columns) {
    const colWidth = Math.max(...col.map((v) => size.get(v)!.width));
    let cursor = -Infinity;
    const placed: Array<{ v: string; y: number; h: number; want: number | null }> = [];
    for (const v of col) {
      const h = size.get(v)!.height;
      const ps = preds.get(v)!;
      const want = ps.length
        ? ps.reduce((s, p) => s + (centre.get(p) as number), 0) / ps.length
        : null;
      const y = Math.max(
        cursor,
        want === null ? (cursor === -Infinity ? 0 : cursor) : want - h / 2,
      );
      placed.push({ v, y, h, want });
      cursor = y + h + NODE_SEP;
    }
    const wanted = placed.filter((p) => p.want !== null);
    const shift = wanted.length
      ? wanted.reduce((s, p) => s + (p.want as number) - (p.y + p.h / 2), 0) / wanted.length
      : 0;
    for (const p of placed) {
      const y = p.y + shift;
      const w = size.get(p.v)!.width;
      // Narrower items sit in the middle of their column.
      positions.set(p.v, { x: x + (colWidth - w) / 2, y });
      centre.set(p.v, y + p.h / 2);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y + p.h);
    }
    x += colWidth + RANK_SEP;
  }
  if (!items.length) return { width: 0, height: 0, positions };
  for (const p of positions.values()) p.y -= top;
  return { width: x - RANK_SEP, height: bottom - top, positions };
}
