// What this machine can run: the capabilities an agent advertises and explain checks against.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * 'local' always; 'sandbox' when bubblewrap can actually create a namespace here; 'docker' when a
 * Docker engine answers (the client alone is not enough); plus 'label:NAME' for each label given.
 */
export function detectCapabilities(labels: readonly string[] = []): string[] {
  const caps = ['local'];
  if (onPath('bwrap')) {
    const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', 'true'], { stdio: 'ignore', timeout: 5000 });
    if (r.status === 0) caps.push('sandbox');
  }
  if (onPath('docker')) {
    const r = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 5000 });
    if (r.status === 0) caps.push('docker');
  }
  for (const l of labels) caps.push(`label:${l}`);
  return caps;
}
