// Secret values for a stage: only the names it declares (its credentials and its environment's),
// from `--secret` overrides or the store, decrypted with the key kept apart from the store.

import type { Plan, PlanStage } from '../protocol/plan.js';
import type { Store } from '../store/store.js';
import { open, secretScope } from '../util/secret-box.js';
import type { SecretSource } from './local-jobs.js';

export class MissingSecretError extends Error {}

export class StoreSecrets implements SecretSource {
  constructor(
    private readonly store: Store,
    private readonly project: string,
    /** Loads the key on first use: a run that needs no stored secret never needs the key. */
    private readonly key: () => Buffer,
    private readonly overrides: Readonly<Record<string, string>> = {},
  ) {}

  /** One secret by name (environment-specific first), or undefined. */
  async get(name: string, environment = ''): Promise<string | undefined> {
    if (this.overrides[name] !== undefined) return this.overrides[name];
    for (const scope of environment ? [environment, ''] : ['']) {
      const sealed = await this.store.getSecret(this.project, scope, name);
      if (sealed !== undefined) return open(this.key(), secretScope(this.project, scope, name), sealed);
    }
    return undefined;
  }

  async values(_plan: Plan, stage: PlanStage): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const env = stage.environment ?? '';
    for (const name of stage.credentials) {
      const override = this.overrides[name];
      if (override !== undefined) {
        out[name] = override;
        continue;
      }
      const scopes = env ? [env, ''] : [''];
      let found: string | undefined;
      for (const scope of scopes) {
        const sealed = await this.store.getSecret(this.project, scope, name);
        if (sealed === undefined) continue;
        found = open(this.key(), secretScope(this.project, scope, name), sealed);
        if (found === undefined) {
          throw new MissingSecretError(`secret '${name}'${scope ? ` for environment '${scope}'` : ''} cannot be decrypted with this machine's key; set it again with otto secrets set ${name}${scope ? ` --env ${scope}` : ''}`);
        }
        break;
      }
      if (found === undefined) {
        throw new MissingSecretError(
          `secret '${name}' is not set${env ? ` (for environment '${env}' or all environments)` : ''}: set it with otto secrets set ${name}${env ? ` --env ${env}` : ''}, or pass it for one run with --secret ${name}`,
        );
      }
      out[name] = found;
    }
    return out;
  }
}
