// Resolves `from 'X'` stage references and checks that X has finished before the stage starts.

import type { StringLit } from '../ast.js';
import { pathText, type ExpandedStage, type Expansion } from '../expand.js';
import { literal } from '../program.js';
import { didYouMean } from '../../util/suggest.js';
import type { CheckContext } from './context.js';

/** The stage a `from` names, or undefined (after reporting) when it names none or several. */
export function resolveStageRef(ctx: CheckContext, stage: ExpandedStage, target: StringLit, owner: string): ExpandedStage | undefined {
  const name = literal(target);
  if (name === undefined) {
    ctx.report(stage.file, 'E0601', target.span, `'from' in ${owner} needs a plain stage name`, 'remove ${…}: references are resolved before expansion');
    return undefined;
  }
  const all = ctx.expansion.stages;
  const distinct = findStages(ctx.expansion, name);
  if (distinct.length === 0) {
    if (all.some((s) => s.name === undefined)) return undefined; // names not known until plan time
    const names = [...ctx.expansion.index.byName.keys()];
    ctx.report(stage.file, 'E0601', target.span, `no stage is named '${name}'`, didYouMean(name, names, 'stages are'));
    return undefined;
  }
  if (distinct.length > 1) {
    const paths = distinct.map((s) => `'${pathText(s) ?? s.name}'`);
    ctx.report(stage.file, 'E0602', target.span, `'${name}' names ${distinct.length} stages: ${paths.join(', ')}`, 'write the full path of the one you mean');
    return undefined;
  }
  const found = distinct[0] as ExpandedStage;
  const order = compareOrder(found, stage);
  if (order !== 'before') {
    const why =
      order === 'self'
        ? 'a stage cannot inherit from itself'
        : order === 'descendant'
          ? `'${name}' is nested in this stage and runs after its steps`
          : order === 'parallel'
            ? `'${name}' runs in parallel with this stage`
            : `'${name}' runs after this stage`;
    ctx.report(stage.file, 'E0610', target.span, `${owner} from '${name}': ${why}`, `'from' needs a stage that has finished before this one starts`);
    return undefined;
  }
  return found;
}

 /** Stages a `from` target names: by full path first, else by name. */
export function findStages(expansion: Expansion, name: string): readonly ExpandedStage[] {
  return expansion.index.byPath.get(name) ?? expansion.index.byName.get(name) ?? [];
}

export type Order = 'before' | 'after' | 'parallel' | 'self' | 'descendant';

/** How stage `a` relates in time to stage `b`. Enclosing stages count as before (their steps run first). */
export function compareOrder(a: ExpandedStage, b: ExpandedStage): Order {
  if (a === b) return 'self';
  const ta = a.trail;
  const tb = b.trail;
  const n = Math.min(ta.length, tb.length);
  for (let k = 0; k < n; k++) {
    const x = ta[k];
    const y = tb[k];
    if (!x || !y) break;
    if (x.container === y.container && x.index === y.index) continue;
    if (x.kind === 'par') return 'parallel';
    return x.index < y.index ? 'before' : 'after';
  }
  if (ta.length < tb.length) return isAncestor(a, b) ? 'before' : 'after';
  return isAncestor(b, a) ? 'descendant' : 'after';
}

function isAncestor(a: ExpandedStage, b: ExpandedStage): boolean {
  for (let p = b.parent; p; p = p.parent) if (p === a) return true;
  return false;
}
