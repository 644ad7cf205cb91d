// The stage graph, loaded on demand: React Flow and dagre are a separate chunk that only the run
// and explain pages fetch.

import { lazy, Suspense } from 'react';
import type { StageGraphProps } from '../graph/stage-graph.js';

const load = () => import('../graph/stage-graph.js');
const StageGraph = lazy(load);

/** Starts fetching the graph's code early (while the run or plan is still loading). */
export function preloadGraph(): void {
  void load();
}

export function GraphPanel(props: StageGraphProps) {
  return (
    <Suspense
      fallback={
        <div className="graph graph-loading" role="status">
          Drawing the graph…
        </div>
      }
    >
      <StageGraph {...props} />
    </Suspense>
  );
}
