// The stage graph: which stages each stage waits for, and the fail-fast groups of parallel blocks.

import { pathText, type ExpandedStage, type Par, type Seq, type Setting } from '../lang/index.js';

export interface Graph {
  readonly needs: ReadonlyMap<ExpandedStage, readonly string[]>;
  readonly failFastGroup: ReadonlyMap<ExpandedStage, string>;
}

/**
 * A sequence runs its items one after another; a stage's nested stages start after its own steps;
 * what follows a stage waits for the last stages of its nested sequence; a parallel's branches all
 * start together and what follows waits for the last stage of every branch.
 */
export function buildGraph(root: Seq): Graph {
  const needs = new Map<ExpandedStage, readonly string[]>();
  const failFastGroup = new Map<ExpandedStage, string>();

  const seq = (s: Seq, incoming: readonly string[], group: string | undefined): readonly string[] => {
    let current = incoming;
    for (const item of s.items) {
      if (item.kind === 'stage') {
        const path = pathText(item) ?? '';
        needs.set(item, [...current].sort());
        if (group) failFastGroup.set(item, group);
        current = item.children.items.length ? seq(item.children, [path], group) : [path];
      } else {
        current = par(item, current, group);
      }
    }
    return current;
  };

  const par = (p: Par, incoming: readonly string[], outer: string | undefined): readonly string[] => {
    if (p.branches.length === 0) return incoming;
    const failFast = p.decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === 'failFast');
    const enabled = !(failFast?.value.kind === 'bool' && failFast.value.value === false);
    const first = firstStage(p);
    const group = enabled && first ? `parallel:${pathText(first) ?? ''}` : outer;
    const exits: string[] = [];
    for (const b of p.branches) exits.push(...seq(b, incoming, group));
    return exits;
  };

  seq(root, [], undefined);
  return { needs, failFastGroup };
}

function firstStage(p: Par): ExpandedStage | undefined {
  for (const b of p.branches) {
    for (const item of b.items) {
      if (item.kind === 'stage') return item;
      const inner = firstStage(item);
      if (inner) return inner;
    }
  }
  return undefined;
}
