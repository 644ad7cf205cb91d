// The pieces `otto run` adds to the engine on a laptop: gates (prompt, otto approve, a loopback
// callback listener, polls), secrets (the encrypted store and --secret), notifications. Each is
// loaded only when the plan uses it (see `load`): a plain pipeline starts without any of them.

import type { Plan } from '../protocol/plan.js';
import type { CallbackServer } from '../engine/index.js';
import { UsageError } from './io.js';
import type { RunExtensions } from './commands/run.js';
import { actorName } from './commands/run.js';

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

/** What of this module's machinery a plan can use. */
function planUses(plan: Plan): { gates: boolean; secrets: boolean; notifier: boolean } {
  return {
    gates: plan.stages.some((s) => s.gates.enter.length > 0 || s.gates.exit.length > 0),
    secrets: plan.stages.some((s) => s.credentials.length > 0),
    // The notifier also records deployments to environments; notifications may look up secrets.
    notifier: plan.stages.some((s) => s.notify.length > 0 || s.environment !== null),
  };
}

async function loadModules(uses: ReturnType<typeof planUses>) {
  const none = Promise.resolve(undefined);
  const [secretBox, secrets, notify, host, input, server, callbacks, prompter] = await Promise.all([
    uses.secrets || uses.notifier ? import('../util/secret-box.js') : none,
    uses.secrets || uses.notifier ? import('../engine/secrets.js') : none,
    uses.notifier ? import('../engine/notify.js') : none,
    uses.gates ? import('../engine/gate-host/host.js') : none,
    uses.gates ? import('../engine/gate-host/input.js') : none,
    uses.gates ? import('../engine/gate-host/callback-server.js') : none,
    uses.gates ? import('../engine/gate-host/callbacks.js') : none,
    uses.gates ? import('./ui/prompter.js') : none,
  ]);
  return { secretBox, secrets, notify, host, input, server, callbacks, prompter };
}

type Modules = Awaited<ReturnType<typeof loadModules>>;

export async function localExtensions(opts: Record<string, unknown>): Promise<RunExtensions> {
  const flags = opts as LocalFlags;
  const overrides = secretOverrides(flags.secret ?? []);
  let loaded: { uses: ReturnType<typeof planUses>; m: Modules } | undefined;
  let key: Buffer | undefined;
  let server: CallbackServer | undefined;
  const mods = (): { uses: ReturnType<typeof planUses>; m: Modules } => {
    if (loaded === undefined) throw new Error('localExtensions: load(plan) must be awaited before the hooks are used');
    return loaded;
  };
  const need = <T>(mod: T | undefined): T => {
    if (mod === undefined) throw new Error('localExtensions: a module the plan needs was not loaded');
    return mod;
  };
  const getKey = (): Buffer => {
    const box = need(mods().m.secretBox);
    return (key ??= box.loadKey(box.defaultKeyFile(), false));
  };
  const callbackServer = (store: Parameters<NonNullable<RunExtensions['callbacks']>>[0]['store']): CallbackServer =>
    (server ??= new (need(mods().m.server).CallbackServer)(store, () => undefined));
  return {
    approve: flags.approve ?? [],
    maskValues: Object.values(overrides),
    load: async (plan) => {
      const uses = planUses(plan);
      loaded = { uses, m: await loadModules(uses) };
    },
    // Without gates no stage has a webhook exit gate to hand a callback URL to.
    callbacks: ({ store }) => (mods().uses.gates ? new (need(mods().m.callbacks).CallbackTokens)(store, () => callbackServer(store).url()) : undefined),
    secrets: ({ store, project }) => (mods().uses.secrets ? new (need(mods().m.secrets).StoreSecrets)(store, project, getKey, overrides) : undefined),
    notifier: ({ store, project }) => {
      if (!mods().uses.notifier) return undefined;
      const source = new (need(mods().m.secrets).StoreSecrets)(store, project, getKey, overrides);
      return new (need(mods().m.notify).HttpNotifier)({ store, project, secret: (name, env) => source.get(name, env).catch(() => undefined), report: (msg) => process.stderr.write(`${msg}\n`) });
    },
    gates: ({ store, interactive, view, announce, callbacks }) => {
      if (!mods().uses.gates) return undefined;
      const { host, input, prompter } = mods().m;
      const listener = callbackServer(store);
      const gates = new (need(input).InputGates)({
        preApproved: flags.yes ? 'all' : new Set(flags.approve ?? []),
        actor: actorName(),
        ...(interactive && process.stdin.isTTY ? { prompter: new (need(prompter).TerminalPrompter)(view) } : {}),
        announce,
      });
      return new (need(host).ProcessGateHost)({ store, input: gates, callbackBase: () => listener.url(), announce, ...(callbacks ? { callbacks } : {}) });
    },
    close: async () => {
      await server?.close();
    },
  };
}
