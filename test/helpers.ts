// Shared test helpers: repository paths, temporary directories, and running the real otto CLI.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run compiled from dist/test/…). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/**
 * ../shared beside the checkout — or, when the tests run inside a copy of it (Otto running its own
 * pipeline works in .otto/runs/N/ws/STAGE), beside the nearest ancestor that has one.
 */
function findShared(): string {
  if (process.env.OTTO_SHARED_DIR) return process.env.OTTO_SHARED_DIR;
  for (let dir = repoRoot; ; dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared');
    if (existsSync(join(candidate, 'otto-compat'))) return candidate;
    if (dirname(dir) === dir) return join(repoRoot, '..', 'shared');
  }
}

export const sharedDir = findShared();
export const compatDir = join(sharedDir, 'otto-compat');
export const ottoBin = join(repoRoot, 'bin', 'otto');

export interface OttoResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runOtto(args: readonly string[], options: { cwd?: string; input?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): OttoResult {
  const r: SpawnSyncReturns<string> = spawnSync(ottoBin, [...args], {
    cwd: options.cwd ?? repoRoot,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env } as NodeJS.ProcessEnv,
    timeout: options.timeoutMs ?? 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'otto-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
