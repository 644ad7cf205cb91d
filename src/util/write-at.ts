// Positioned writes of many buffers to a file, all of them: one writev per IOV_MAX (1024) buffers,
// and after a short write (rare for a file) the rest buffer by buffer.

import { writeSync, writevSync } from 'node:fs';

/** Writes `parts`, one after another, at `position` of `fd`; returns the position after them. */
export function writeAllAt(fd: number, parts: readonly Buffer[], position: number): number {
  let at = position;
  for (let i = 0; i < parts.length; i += 1024) {
    const group = parts.slice(i, i + 1024);
    let done = writevSync(fd, group, at);
    at += done;
    for (const b of group) {
      if (done >= b.length) {
        done -= b.length;
        continue;
      }
      for (let from = done; from < b.length; ) {
        const n = writeSync(fd, b, from, b.length - from, at);
        from += n;
        at += n;
      }
      done = 0;
    }
  }
  return at;
}
