// The sandbox runtime: a step runs under bubblewrap with a read-only view of the machine, a
// private /tmp, and only its workspace writable; `network = false` also gives it no network.

import type { PlanRuntime } from '../protocol/plan.js';

export function sandboxArgv(argv: readonly string[], runtime: PlanRuntime | undefined, workspace: string, cwd: string): string[] {
  if (runtime?.kind !== 'sandbox') return [...argv];
  const args = [
    'bwrap',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--bind', workspace, workspace,
    '--chdir', cwd,
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    // The sandbox ends with the agent: nothing inside can outlive it.
    '--die-with-parent',
  ];
  if (!runtime.network) args.push('--unshare-net');
  args.push('--', ...argv);
  return args;
}

/** Where a library step's entrypoint lives: `project:<path>` in the workspace, `library:<…>` in the cache. */
export function libraryDirectory(libraryDir: string, workspace: string, libraryRoot: string | undefined): string | { error: string } {
  if (libraryDir.startsWith('project:')) return `${workspace}/${libraryDir.slice('project:'.length)}`;
  if (libraryDir.startsWith('library:')) {
    if (!libraryRoot) return { error: 'this agent has no library cache for remote step libraries' };
    return `${libraryRoot}/${libraryDir.slice('library:'.length)}`;
  }
  return libraryDir;
}
