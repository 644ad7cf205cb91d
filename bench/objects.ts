// Object store benchmark: cache save and restore of 10,000 small files (1–4 KB) through the agent's
// ObjectOps, against a floor of tar (no hashing; -cf writes one archive file) and cp -r of the same
// tree. A first save creates a blob file per file, like cp -r; a second save only reads and hashes,
// like tar -cf; a restore creates every file, like tar -xf.
// Disk timings on shared machines are noisy: each figure is the median of several runs, with the
// floors measured in the same rounds as Otto's numbers.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectOps } from '../src/agent/objects/index.js';
import type { ObjectOpContext, ObjectOps } from '../src/agent/object-ops.js';
import { AGENT_PROTOCOL_VERSION, type StageJob } from '../src/protocol/agent.js';
import { fmtMs, median, printSection, type Row } from './util.js';

export interface ObjectsBenchOptions {
  readonly files?: number;
  readonly rounds?: number;
  /** Where the trees and stores go (default: the temp directory). */
  readonly dir?: string;
}

/** `files` files of 1–4 KB of random bytes in a tree of 100 × 8 directories; returns total bytes. */
export function generateTree(root: string, files: number): number {
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const dir = join(root, 'vendor', `pkg${i % 100}`, `lib${i % 8}`);
    mkdirSync(dir, { recursive: true });
    const size = 1024 + ((i * 2654435761) % 3073);
    writeFileSync(join(dir, `file${i}.rb`), randomBytes(size));
    bytes += size;
  }
  return bytes;
}

function ctxFor(workspace: string, objectsDir: string): ObjectOpContext {
  const job: StageJob = {
    protocol: AGENT_PROTOCOL_VERSION,
    jobId: 'bench/cache#1',
    runId: 'bench',
    stagePath: 'cache',
    attempt: 1,
    ops: [],
    workspace,
    secrets: {},
    maskValues: [],
    baseEnv: {},
    timeoutMs: 600_000,
    graceMs: 1000,
    objects: { kind: 'local', dir: objectsDir },
    project: 'bench',
  };
  return { job, workspace, env: {}, signal: new AbortController().signal };
}

function sh(cmd: string, args: readonly string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function expectOk(
  ops: ObjectOps,
  kind: 'save' | 'restore',
  ctx: ObjectOpContext,
): Promise<string[]> {
  const r =
    kind === 'save'
      ? await ops.cacheSave(
          { op: 'CACHE_SAVE', name: 'gems', paths: ['vendor'], keyFiles: [], when: 'success' },
          ctx,
        )
      : await ops.cacheRestore({ op: 'CACHE_RESTORE', name: 'gems', keyFiles: [] }, ctx);
  if (!r.ok) throw new Error(`cache ${kind} failed: ${r.message}`);
  return [...r.log];
}

export async function benchObjects(options: ObjectsBenchOptions = {}): Promise<Row[]> {
  const files = options.files ?? 10_000;
  const rounds = options.rounds ?? 5;
  const base = mkdtempSync(join(options.dir ?? tmpdir(), 'otto-bench-objects-'));
  try {
    const src = join(base, 'src');
    mkdirSync(src);
    const bytes = generateTree(src, files);
    const t = {
      tarC: [] as number[],
      tarX: [] as number[],
      cp: [] as number[],
      saveCold: [] as number[],
      saveWarm: [] as number[],
      restore: [] as number[],
    };
    let lastLog: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const dir = join(base, `round${round}`);
      mkdirSync(dir);
      const tarFile = join(dir, 'tree.tar');
      t.tarC.push(sh('tar', ['-cf', tarFile, '-C', src, 'vendor']));
      const untar = join(dir, 'untar');
      mkdirSync(untar);
      t.tarX.push(sh('tar', ['-xf', tarFile, '-C', untar]));
      t.cp.push(sh('cp', ['-r', join(src, 'vendor'), join(dir, 'copy')]));
      // A fresh store and agent state per round: the first save writes every blob.
      const ops = createObjectOps();
      const objects = join(dir, 'objects');
      t.saveCold.push(
        await timed(async () => void (await expectOk(ops, 'save', ctxFor(src, objects)))),
      );
      t.saveWarm.push(
        await timed(async () => void (await expectOk(ops, 'save', ctxFor(src, objects)))),
      );
      const ws = join(dir, 'ws');
      mkdirSync(ws);
      t.restore.push(
        await timed(
          async () => void (lastLog = await expectOk(ops, 'restore', ctxFor(ws, objects))),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof t,
      number
    >;
    const what = `${files.toLocaleString('en-US')} files, ${(bytes / 1e6).toFixed(1)} MB`;
    const ratio = (x: number, floor: number): string => `${(x / floor).toFixed(1)}x`;
    return [
      { name: `floor: tar -cf (${what})`, value: fmtMs(m.tarC) },
      { name: 'floor: tar -xf', value: fmtMs(m.tarX) },
      { name: 'floor: cp -r', value: fmtMs(m.cp) },
      {
        name: 'cache save, new store (walk, hash, write every blob)',
        value: fmtMs(m.saveCold),
        // One file per blob: the floor that also creates 10,000 files is cp -r, not tar -cf.
        target: '< 4x cp -r',
        ok: m.saveCold < 4 * m.cp,
        note: `(${ratio(m.saveCold, m.cp)} cp -r, ${ratio(m.saveCold, m.tarC)} tar -cf)`,
      },
      {
        name: 'cache save again, same files (every blob deduplicated)',
        value: fmtMs(m.saveWarm),
        target: '< 4x tar -cf',
        ok: m.saveWarm < 4 * m.tarC,
        note: `(${ratio(m.saveWarm, m.tarC)} tar -cf)`,
      },
      {
        name: 'cache restore into an empty workspace (verify every blob)',
        value: fmtMs(m.restore),
        target: '< 4x tar -xf',
        ok: m.restore < 4 * m.tarX,
        note: `(${ratio(m.restore, m.tarX)} tar -xf, ${ratio(m.restore, m.cp)} cp -r; ${lastLog.join('; ')})`,
      },
    ];
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * On disk (the temp directory) the numbers are mostly the disk's, and swing with whatever else the
 * machine writes; on tmpfs (/dev/shm, when there is one) they are Otto's own CPU and syscall costs.
 */
export async function printObjects(options: ObjectsBenchOptions = {}): Promise<void> {
  printSection(
    `Objects: cache save and restore, on disk (${tmpdir()})`,
    await benchObjects(options),
  );
  if (existsSync('/dev/shm')) {
    printSection(
      'Objects: cache save and restore, on tmpfs (/dev/shm)',
      await benchObjects({ ...options, dir: '/dev/shm' }),
    );
  }
}

// `node dist/bench/objects.js [files] [rounds]` runs this section alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [files, rounds] = process.argv.slice(2).map(Number);
  await printObjects({ ...(files ? { files } : {}), ...(rounds ? { rounds } : {}) });
}
