// The pieces `otto run` adds to the engine on a laptop: gates (prompt, otto approve, a loopback
// callback listener, polls), secrets (the encrypted store and --secret), notifications.

import {
  CallbackServer,
  CallbackTokens,
  HttpNotifier,
  InputGates,
  ProcessGateHost,
  StoreSecrets,
} from '../engine/index.js';
import { defaultKeyFile, loadKey } from '../util/secret-box.js';
import { UsageError } from './io.js';
import type { RunExtensions } from './commands/run.js';
import { actorName } from './commands/run.js';
import { TerminalPrompter } from './ui/prompter.js';

export interface LocalFlags {
  readonly approve?: string[];
  readonly yes?: boolean;
  readonly secret?: string[];
}

/** `--secret NAME` takes NAME's value from this process's environment, for this run only. */
export function secretOverrides(names: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value === undefined) throw new UsageError(`--secret ${name}: the environment has no ${name}`, `export ${name}=… first, or store it with otto secrets set ${name}`);
    out[name] = value;
  }
  return out;
}

export async function localExtensions(opts: Record<string, unknown>): Promise<RunExtensions> {
  const flags = opts as LocalFlags;
  const overrides = secretOverrides(flags.secret ?? []);
  let key: Buffer | undefined;
  const keyFile = defaultKeyFile();
  const getKey = (): Buffer => (key ??= loadKey(keyFile, false));
  let server: CallbackServer | undefined;
  const callbackServer = (store: Parameters<NonNullable<RunExtensions['callbacks']>>[0]['store']): CallbackServer => (server ??= new CallbackServer(store, () => undefined));
  return {
    approve: flags.approve ?? [],
    callbacks: ({ store }) => new CallbackTokens(store, () => callbackServer(store).url()),
    maskValues: Object.values(overrides),
    secrets: ({ store, project }) => new StoreSecrets(store, project, getKey, overrides),
    notifier: ({ store, project }) => {
      const secrets = new StoreSecrets(store, project, getKey, overrides);
      return new HttpNotifier({ store, project, secret: (name, env) => secrets.get(name, env).catch(() => undefined), report: (m) => process.stderr.write(`${m}\n`) });
    },
    gates: ({ store, interactive, view, announce, callbacks }) => {
      const listener = callbackServer(store);
      const input = new InputGates({
        preApproved: flags.yes ? 'all' : new Set(flags.approve ?? []),
        actor: actorName(),
        ...(interactive && process.stdin.isTTY ? { prompter: new TerminalPrompter(view) } : {}),
        announce,
      });
      return new ProcessGateHost({ store, input, callbackBase: () => listener.url(), announce, ...(callbacks ? { callbacks } : {}) });
    },
    close: async () => {
      await server?.close();
    },
  };
}
