// otto gc: expires old artifacts and unused caches in the object store and removes the blobs nothing
// reaches any more (src/agent/objects/gc.ts). `otto run` and `otto serve` start it in the background
// about once a day (src/util/gc-schedule.ts).

import { join, resolve } from 'node:path';
import { collectGarbage, type GcPolicy } from '../../agent/objects/gc.js';
import { formatSize } from '../../agent/objects/format.js';
import { ottoHome } from '../home.js';
import { EXIT, UsageError, writeOut } from '../io.js';

export const DEFAULT_ARTIFACT_DAYS = 90;
export const DEFAULT_CACHE_DAYS = 7;

export interface GcFlags {
  readonly data?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** A number of days from the environment: a whole number, 0 meaning "keep for good". */
function days(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} is '${raw}': it must be a whole number of days, such as ${fallback} (0 keeps them for good)`, `unset it for the default, ${fallback} days`);
  return n;
}

export function gcPolicy(): Pick<GcPolicy, 'artifactDays' | 'cacheDays'> {
  return { artifactDays: days('OTTO_ARTIFACT_DAYS', DEFAULT_ARTIFACT_DAYS), cacheDays: days('OTTO_CACHE_DAYS', DEFAULT_CACHE_DAYS) };
}

export function runGc(flags: GcFlags): number {
  const policy = gcPolicy();
  const dir = flags.data !== undefined ? join(resolve(flags.data), 'objects') : join(ottoHome(process.cwd()), 'objects');
  const r = collectGarbage(dir, { ...policy, dryRun: flags.dryRun === true });
  if (flags.json) {
    writeOut(JSON.stringify({ objects: dir, dryRun: flags.dryRun === true, ...policy, ...r }, null, 2));
  } else if (!flags.quiet) {
    const verb = flags.dryRun ? 'would remove' : 'removed';
    writeOut(`${dir}: ${verb} ${r.artifactsRemoved} artifact${r.artifactsRemoved === 1 ? '' : 's'} older than ${policy.artifactDays || '∞'} days, ${r.cachesRemoved} cache${r.cachesRemoved === 1 ? '' : 's'} unused for ${policy.cacheDays || '∞'} days, and ${r.blobsRemoved} blob${r.blobsRemoved === 1 ? '' : 's'} nothing uses (${formatSize(r.bytesRemoved)}); ${r.blobsKept} blob${r.blobsKept === 1 ? '' : 's'} kept (${formatSize(r.bytesKept)})`);
  }
  return EXIT.ok;
}
