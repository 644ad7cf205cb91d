// OTTO_STEP_ENV for `otto run`, `resume` and `rerun`: checked before anything runs (src/util/step-env.ts).

import { parseStepEnv, STEP_ENV_EXAMPLE } from '../util/step-env.js';
import { UsageError } from './io.js';

export function stepEnvNames(raw: string | undefined = process.env.OTTO_STEP_ENV): readonly string[] {
  const parsed = parseStepEnv(raw);
  if ('error' in parsed) throw new UsageError(parsed.error, `list variable names separated by commas, such as ${STEP_ENV_EXAMPLE}`);
  return parsed.names;
}
