// How each kind of item is printed: which header, which body, or which one-line form.

import type {
  Block,
  Cache,
  CacheUse,
  Condition,
  EnvironmentDecl,
  EnvironmentRef,
  EnvironmentSettings,
  FromBlueprint,
  FromRef,
  GateItem,
  GatePhase,
  Gates,
  Ident,
  Notify,
  NotifyPhase,
  Runtime,
  Setting,
  Step,
  StepsBlock,
  TopItem,
  Triggers,
  UseEntry,
  VarDecl,
  VarProp,
  VarsBlock,
  When,
  Node,
  StagesBlock,
} from '../ast.js';
import type { Span } from '../source.js';
import type { Ctx } from './comments.js';
import { blockEntry, keyword, simpleEntry, type Writer } from './block.js';
import type { Entry } from './list.js';
import { conditionValues } from './unit.js';
import { writeArgs, writeCondition, writeValue, writeValues } from './values.js';

/** Everything that can stand on its own line inside a body. */
export type Item =
  | TopItem
  | Setting
  | Block
  | FromRef
  | Step
  | StepsBlock
  | Runtime
  | Cache
  | CacheUse
  | Gates
  | GatePhase
  | GateItem
  | When
  | Notify
  | NotifyPhase
  | EnvironmentRef
  | Node
  | StagesBlock
  | UseEntry
  | EnvironmentDecl
  | EnvironmentSettings
  | FromBlueprint
  | Triggers
  | VarsBlock
  | VarDecl
  | VarProp;

export function entryFor(ctx: Ctx, item: Item): Entry {
  const all = (items: readonly Item[]): Entry[] => items.map((i) => entryFor(ctx, i));
  // A block whose header is one word at the node's start: `steps {`, `enter {`.
  const kw = (word: string, items: readonly Item[]): Entry =>
    blockEntry(ctx, {
      node: item,
      headerEnd: item.span.start + word.length,
      headerValues: [],
      header: keyword(word),
      entries: all(items),
    });
  // A block named by an identifier: `docker {`, `production {`, a var `deploy {`.
  const named = (name: Ident, items: readonly Item[]): Entry =>
    blockEntry(ctx, {
      node: item,
      headerEnd: name.span.end,
      headerValues: [],
      header: keyword(name.name),
      entries: all(items),
    });

  switch (item.kind) {
    case 'use':
      return kw('use', item.entries);
    case 'configure':
      return kw('configure', item.blocks);
    case 'environments':
      return kw('environments', item.environments);
    case 'pipeline':
    case 'blueprint':
    case 'triggers':
    case 'stages':
    case 'parallel':
    case 'runtime':
    case 'cache':
    case 'gates':
    case 'notify':
      return kw(item.kind, item.items);
    case 'step-sketch':
      return kw('step', item.items);
    case 'vars':
      return kw('vars', item.vars);
    case 'steps':
      return kw('steps', item.steps);
    case 'when':
      return blockEntry(ctx, {
        node: item,
        headerEnd: item.span.start + 'when'.length,
        headerValues: [],
        header: keyword('when'),
        entries: item.conditions.map((c) => conditionEntry(ctx, c, c)),
      });
    case 'gate-phase':
      return kw(item.phase, item.items);
    case 'notify-phase':
      return kw(item.on, item.steps);
    case 'env-settings':
      return kw('settings', item.settings);
    case 'block':
    case 'environment-decl':
      return named(item.name, item.items);
    case 'var-decl':
      return named(item.name, item.props);
    case 'stage': {
      const label = item.label;
      return blockEntry(ctx, {
        node: item,
        headerEnd: label ? label.span.end : item.span.start + 'stage'.length,
        headerValues: [],
        header: (o) => o.text(label ? `stage(${label.raw})` : 'stage'),
        entries: all(item.items),
      });
    }
    case 'each': {
      const last = item.values[item.values.length - 1];
      return blockEntry(ctx, {
        node: item,
        headerEnd: item.as
          ? item.as.span.end
          : last
            ? last.span.end
            : item.span.start + 'each'.length,
        headerValues: item.values,
        header: (o, indent, expand, skip) => {
          o.text('each(');
          writeValues(ctx, o, item.values, indent, expand, skip);
          o.text(item.as ? `) as ${item.as.name}` : ')');
        },
        entries: all(item.items),
      });
    }
    case 'step':
      return stepEntry(ctx, item);
    case 'from-blueprint': {
      const head = `from ${item.target.raw}`;
      if (item.vars === undefined) return simpleEntry(ctx, item, [], (o) => o.text(head));
      return blockEntry(ctx, {
        node: item,
        headerEnd: item.target.span.end,
        headerValues: [],
        header: keyword(head),
        entries: all(item.vars),
      });
    }
    case 'setting':
      return simpleEntry(ctx, item, [item.value], (o, indent, expand, skip) => {
        o.text(`${item.name.name} = `);
        writeValue(ctx, o, item.value, indent, expand, skip);
      });
    case 'var-prop':
      // Both spellings are valid; the formatter keeps the one written.
      return simpleEntry(ctx, item, [item.value], (o, indent, expand, skip) => {
        o.text(item.equals ? `${item.name.name} = ` : `${item.name.name} `);
        writeValue(ctx, o, item.value, indent, expand, skip);
      });
    case 'from':
      return simpleEntry(ctx, item, [], (o) => o.text(`from ${item.target.raw}`));
    case 'cache-use':
      return simpleEntry(ctx, item, [], (o) =>
        o.text(`use ${item.names.map((n) => n.name).join(', ')}`),
      );
    case 'environment':
      return simpleEntry(ctx, item, [], (o) => o.text(`environment -> ${item.name.name}`));
    case 'use-entry': {
      const source = item.source.kind === 'string' ? item.source.raw : item.source.name;
      return simpleEntry(ctx, item, [], (o) =>
        o.text(item.alias ? `${source} as ${item.alias.name}` : source),
      );
    }
    case 'gate-condition':
      return conditionEntry(ctx, item, item.condition);
  }
}

function conditionEntry(ctx: Ctx, node: { readonly span: Span }, c: Condition): Entry {
  return simpleEntry(ctx, node, conditionValues(c), (o, indent, expand, skip) =>
    writeCondition(ctx, o, c, indent, expand, skip),
  );
}

/** `sh 'make'`, `git url: '…', branch: 'main'`, or with a body `dir 'web' { … }`. */
function stepEntry(ctx: Ctx, step: Step): Entry {
  const values = step.args.map((a) => a.value);
  const header: Writer = (o, indent, expand, skip) => {
    o.text(step.name.name);
    if (step.args.length === 0) return;
    o.text(' ');
    writeArgs(ctx, o, step.args, indent, expand, skip);
  };
  if (step.body === undefined) return simpleEntry(ctx, step, values, header);
  const last = step.args[step.args.length - 1];
  return blockEntry(ctx, {
    node: step,
    headerEnd: last ? last.span.end : step.name.span.end,
    headerValues: values,
    header,
    entries: step.body.map((s) => stepEntry(ctx, s)),
  });
}
