// Checks a block's settings against its spec: unknown names, duplicates, types, required ones.

import type { OttoFile, Setting } from '../ast.js';
import type { EvalSite } from '../expand.js';
import type { BlockSpec } from '../schema/types.js';
import type { Span } from '../source.js';
import { didYouMean } from '../../util/suggest.js';
import type { CheckContext } from './context.js';
import { checkValue } from './values.js';

export interface SettingsOptions {
  /** Settings checked elsewhere (a stage's `name`). */
  readonly skip?: readonly string[];
  /** Where to point when a required setting is missing. */
  readonly ownerSpan?: Span;
  readonly environment?: string;
}

export function checkSettings(
  ctx: CheckContext,
  site: EvalSite,
  owner: string,
  settings: readonly Setting[],
  spec: BlockSpec,
  options: SettingsOptions = {},
): void {
  const file: OttoFile = site.file;
  const seen = new Map<string, Setting>();
  const names = spec.settings.map((s) => s.name);
  for (const s of settings) {
    const name = s.name.name;
    const first = seen.get(name);
    if (first) {
      const line = file.source.position(first.span.start).line;
      ctx.report(file, 'E0303', s.name.span, `'${name}' is set twice in '${owner}'`, `the first is on line ${line}; remove one`);
      continue;
    }
    seen.set(name, s);
    if (options.skip?.includes(name)) continue;
    const param = spec.settings.find((p) => p.name === name);
    const value = ctx.evaluate(s.value, site, options.environment);
    if (!param) {
      if (spec.open) continue;
      ctx.report(
        file,
        'E0301',
        s.name.span,
        `unknown setting '${name}' in '${owner}'`,
        names.length ? didYouMean(name, names, `'${owner}' takes`) : `'${owner}' takes no settings`,
      );
      continue;
    }
    checkValue(ctx, file, param, s.value, value, `'${name}'`);
  }
  if (options.ownerSpan) {
    for (const p of spec.settings) {
      if (p.required && !seen.has(p.name)) {
        ctx.report(file, 'E0308', options.ownerSpan, `'${owner}' needs '${p.name}' (${p.description})`, `add ${p.name} = …`);
      }
    }
  }
}
