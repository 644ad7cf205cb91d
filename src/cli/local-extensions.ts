// The pieces `otto run` adds to the engine on a laptop: gates, secrets and notifications.

import type { RunExtensions } from './commands/run.js';

export async function localExtensions(_opts: Record<string, unknown>): Promise<RunExtensions> {
  return {};
}
