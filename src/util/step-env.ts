// OTTO_STEP_ENV: variables of Otto's own environment that steps start with too, beside the few
// every step gets (PATH, HOME, …). Steps never inherit the whole environment; a proxy or a company
// certificate bundle (HTTPS_PROXY, NODE_EXTRA_CA_CERTS) is opted into by name.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const STEP_ENV_EXAMPLE = 'OTTO_STEP_ENV=HTTPS_PROXY,NO_PROXY,NODE_EXTRA_CA_CERTS';

/** The names in OTTO_STEP_ENV (separated by commas or spaces), or what is wrong with it. */
export function parseStepEnv(raw: string | undefined): { readonly names: readonly string[] } | { readonly error: string } {
  const names = (raw ?? '').split(/[\s,]+/).filter((n) => n !== '');
  const bad = names.find((n) => !NAME.test(n));
  if (bad !== undefined) return { error: `OTTO_STEP_ENV names '${bad}', which is not a variable name` };
  return { names: [...new Set(names)] };
}

/** The variables of `env` named in `names`, those that are set. */
export function pickEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = env[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}
