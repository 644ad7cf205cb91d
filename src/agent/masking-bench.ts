// Micro-benchmark of the streaming masker: MB/s over typical log text with 20 secrets.

import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Masker } from './masking.js';

export interface MaskingBenchOptions {
  /** Megabytes (10^6 bytes) of output to mask. Default 100. */
  readonly megabytes?: number;
  /** Default 20: tokens, passwords and a couple of short values, like a real project's secrets. */
  readonly secrets?: number;
  /** Bytes per write, like a pipe read. Default 64 KiB. */
  readonly chunkBytes?: number;
}

/** Deterministic secret values of mixed shapes (no Math.random: runs must be comparable). */
export function benchSecrets(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const h = createHash('sha256').update(`otto-bench-${i}`).digest();
    const b64 = h.toString('base64').replace(/[+/=]/g, '');
    if (i % 4 === 0) out.push(`ghp_${b64.slice(0, 36)}`);
    else if (i % 4 === 1) out.push(`P@ss w0rd/${b64.slice(0, 6)}!`);
    else if (i % 4 === 2) out.push(h.toString('hex').slice(0, 32));
    else out.push(b64.slice(0, 6 + (i % 5)));
  }
  return out;
}

/** Log-like lines: timestamps, levels, paths, numbers; one line in ~5,000 prints a secret. */
export function benchLogText(bytes: number, secrets: readonly string[]): Buffer {
  const words =
    'the build compiled src/agent/runner.ts in 312ms warning unused import at line 42 GET /api/v1/runs 200 OK npm install added 523 packages from 1204 contributors audited test passed failed retry'.split(
      ' ',
    );
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    let line = `2024-05-01T12:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z [${i % 9 === 0 ? 'WARN' : 'INFO'}] `;
    for (let j = 0; j < 9; j++) line += `${words[(i * 7 + j * 13) % words.length]} `;
    if (i % 5000 === 4999) line += `token=${secrets[i % secrets.length]}`;
    line += '\n';
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Masks the text in pipe-sized writes and returns the throughput in MB/s. */
export function benchMasking(options: MaskingBenchOptions = {}): number {
  const megabytes = options.megabytes ?? 100;
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const secrets = benchSecrets(options.secrets ?? 20);
  // 4 MB of text reused: generating 100 MB of strings would measure the generator, not the masker.
  const sample = benchLogText(4_000_000, secrets);
  const chunks: Buffer[] = [];
  for (let at = 0; at < sample.length; at += chunkBytes)
    chunks.push(Buffer.from(sample.subarray(at, at + chunkBytes)));
  const masker = new Masker(secrets);
  // Untimed warm-up: an agent masks for hours, so the steady (optimised) state is what counts.
  const warm = masker.stream();
  for (let i = 0; i < 2; i++) for (const chunk of chunks) warm.write(chunk);
  const total = megabytes * 1e6;
  const stream = masker.stream();
  let done = 0;
  let out = 0;
  const started = performance.now();
  while (done < total) {
    for (const chunk of chunks) {
      out += stream.write(chunk).length;
      done += chunk.length;
      if (done >= total) break;
    }
  }
  out += stream.flush().length;
  const seconds = (performance.now() - started) / 1000;
  if (out === 0) throw new Error('masking produced no output');
  return done / 1e6 / seconds;
}
