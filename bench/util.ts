// Small helpers for the benchmarks: timing, medians, and printing results as a table.

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** Median wall time of `fn` in ms over `runs` runs after `warmup` runs. */
export function timeIt(fn: () => void, runs = 7, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function timeItAsync(fn: () => Promise<void>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

export interface Row {
  readonly name: string;
  readonly value: string;
  readonly target?: string;
  readonly ok?: boolean;
  readonly note?: string;
}

export function printSection(title: string, rows: readonly Row[]): void {
  console.log(`\n## ${title}\n`);
  console.log('| measurement | result | target | |');
  console.log('|---|---:|---|---|');
  for (const r of rows) {
    const mark = r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED';
    console.log(`| ${r.name} | ${r.value} | ${r.target ?? ''} | ${mark}${r.note ? ` ${r.note}` : ''} |`);
  }
}

export function fmtMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}
