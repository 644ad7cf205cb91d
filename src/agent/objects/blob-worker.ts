// Worker thread of the local object store: puts and gets batches of small files with synchronous
// calls (see blob-workers.ts for why threads, and slices.ts for why synchronous).

import { parentPort } from 'node:worker_threads';
import { BlobDir } from './blob-dir.js';
import { ObjectError } from './errors.js';
import type { BlobRequest, BlobResponse } from './blob-workers.js';

const dirs = new Map<string, BlobDir>();

parentPort?.on('message', (req: BlobRequest) => {
  let res: BlobResponse;
  try {
    let dir = dirs.get(req.dir);
    if (dir === undefined) dirs.set(req.dir, (dir = new BlobDir(req.dir)));
    if (req.kind === 'put') {
      const d = dir;
      res = { id: req.id, ok: true, results: req.items.map((f) => d.putFile(f)) };
    } else {
      for (const f of req.items) dir.getFile(f);
      res = { id: req.id, ok: true, results: [] };
    }
  } catch (e) {
    res = {
      id: req.id,
      ok: false,
      message: e instanceof Error ? e.message : String(e),
      ...(e instanceof ObjectError ? { code: e.code } : {}),
    };
  }
  parentPort?.postMessage(res);
});
