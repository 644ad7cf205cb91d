// What a remote agent offers the server: the runtimes its runner actually carries out here.

import { spawnSync } from 'node:child_process';
import { onPath } from '../../util/capabilities.js';

/**
 * The runtimes the runner implements. Docker, Kubernetes and micro-VM stages are not run by the
 * agent yet, so it does not offer them even where a Docker engine answers: offering docker would
 * route docker stages here only to run their steps as plain processes, outside any container.
 */
export const RUNNABLE_RUNTIMES = ['local', 'sandbox'] as const;

/** 'local' always; 'sandbox' when bubblewrap can actually create its namespaces on this machine. */
export function detectRunnable(): string[] {
  const caps = ['local'];
  if (onPath('bwrap')) {
    const probe = spawnSync(
      'bwrap',
      ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', 'true'],
      {
        stdio: 'ignore',
        timeout: 5000,
      },
    );
    if (probe.status === 0) caps.push('sandbox');
  }
  return caps;
}
