// Artifacts and caches on a remote agent: the same ObjectOps as the local agent, on the store a job
// names, but only where this machine can really reach it (never a private copy by accident).

import { existsSync } from 'node:fs';
import type { ObjectOps } from '../object-ops.js';
import { createObjectOps, localStores } from '../objects/index.js';

/**
 * A `local` store is a directory on the server's machine. It works here only when that directory
 * is shared at the same path (NFS and the like); otherwise the op fails with a message, rather than
 * creating a store on this machine that no other agent, and not the server, would ever read.
 */
export function remoteObjectOps(): ObjectOps {
  const open = localStores();
  return createObjectOps((spec) => {
    if (!existsSync(spec.dir))
      throw new Error(
        `the object store ${spec.dir} is a directory on the server's machine, not on this agent's; share it at the same path to use artifacts and caches here`,
      );
    return open(spec);
  });
}
