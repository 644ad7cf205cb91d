// Checks `from 'blueprint' { var = … }`: the blueprint exists, vars are known, typed and complete.

import type { FromBlueprint, OttoFile } from '../ast.js';
import { literal, type BlueprintUnit } from '../program.js';
import { didYouMean } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import { topSite } from './context.js';
import { staticType } from './values.js';
import { varType } from './top.js';
import { UNKNOWN, typeName } from '../evaluate.js';

export function checkFromBlueprints(ctx: CheckContext, file: OttoFile): void {
  for (const top of file.items) {
    if (top.kind !== 'pipeline' && top.kind !== 'blueprint') continue;
    for (const item of top.items) {
      if (item.kind === 'from-blueprint') checkFrom(ctx, file, item);
    }
  }
}

function checkFrom(ctx: CheckContext, file: OttoFile, from: FromBlueprint): void {
  const name = literal(from.target);
  const units = ctx.program.blueprintsByFile.get(file.source.path) ?? [];
  const matching = name === undefined ? [] : units.filter((u) => u.names.includes(name));
  if (matching.length > 1) {
    ctx.report(file, 'E0612', from.target.span, `'${name ?? ''}' names ${matching.length} blueprints in use`, `give each a distinct name with as: use { '${literal(matching[0]!.entry.source.kind === 'string' ? matching[0]!.entry.source : from.target) ?? ''}' as first }`);
    return;
  }
  const unit = matching[0];
  if (!unit) {
    const known = units.flatMap((u) => u.names);
    const usedButMissing = file.items.some((i) => i.kind === 'use' && i.entries.some((e) => e.source.kind === 'string' && literal(e.source) === name));
    if (usedButMissing) return; // the use entry itself is already reported
    ctx.report(
      file,
      'E0605',
      from.target.span,
      `no blueprint named '${name ?? '…'}' is in use`,
      known.length
        ? didYouMean(name ?? '', known, 'blueprints in use are')
        : file.items.some((i) => i.kind === 'use' && i.entries.some((e) => e.source.kind === 'string'))
          ? 'no used file holds a blueprint that loaded; see the problems with the use entries'
          : `bring it in first: use { './blueprints/${name ?? 'name'}.otto' }`,
    );
    return;
  }
  checkVarValues(ctx, file, from, unit);
}

function checkVarValues(ctx: CheckContext, file: OttoFile, from: FromBlueprint, unit: BlueprintUnit): void {
  const decls = unit.decl.items.flatMap((i) => (i.kind === 'vars' ? i.vars : []));
  const names = decls.map((d) => d.name.name);
  const given = new Set<string>();
  for (const s of from.vars ?? []) {
    const decl = decls.find((d) => d.name.name === s.name.name);
    if (given.has(s.name.name)) ctx.report(file, 'E0303', s.name.span, `var '${s.name.name}' is given twice`, 'remove one');
    given.add(s.name.name);
    if (!decl) {
      ctx.report(file, 'E0704', s.name.span, `blueprint '${literal(from.target) ?? ''}' has no var '${s.name.name}'`, names.length ? didYouMean(s.name.name, names, 'its vars are') : 'it declares no vars');
      continue;
    }
    const type = varType(decl);
    const v = ctx.evaluate(s.value, topSite(file));
    const t = v === UNKNOWN ? staticType(s.value) : typeName(v);
    if (type && t !== 'unknown' && t !== type) {
      ctx.report(file, 'E0705', s.value.span, `var '${s.name.name}' is a ${type}, but is given ${t === 'array' ? 'an array' : `a ${t}`}`, type === 'boolean' ? 'write true or false without quotes' : undefined);
    }
  }
  for (const d of decls) {
    const hasDefault = d.props.some((p) => p.name.name === 'default');
    if (!hasDefault && !given.has(d.name.name)) {
      const desc = d.props.find((p) => p.name.name === 'description');
      const what = desc?.value.kind === 'string' ? ` (${literal(desc.value) ?? ''})` : '';
      ctx.report(file, 'E0703', from.target.span, `blueprint '${literal(from.target) ?? ''}' needs var '${d.name.name}'${what}`, `give it: from ${from.target.raw} { ${d.name.name} = … }`);
    }
  }
}
