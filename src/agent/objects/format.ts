// Counts and sizes for log lines: "1,234 files, 56.7 MB" (decimal units, like the examples).

export function formatCount(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] as string}`;
}

/** "1,234 files, 56.7 MB" */
export function filesAndSize(files: number, bytes: number): string {
  return `${formatCount(files, 'file')}, ${formatSize(bytes)}`;
}
