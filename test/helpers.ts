// Shared test helpers: repository paths, temporary directories, and running the real otto CLI.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run compiled from dist/test/…). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedDir = join(repoRoot, '..', 'shared');
export const compatDir = join(sharedDir, 'otto-compat');
export const ottoBin = join(repoRoot, 'bin', 'otto');

export interface OttoResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runOtto(args: readonly string[], options: { cwd?: string; input?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): OttoResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [ottoBin, ...args], {
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
