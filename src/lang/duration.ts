// Duration strings: '90s', '10m', '2h', '1d', '1h30m', '500ms'.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  let at = 0;
  let total = 0;
  while (at < t.length) {
    PART.lastIndex = at;
    const m = PART.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    at = PART.lastIndex;
  }
  return Math.round(total);
}

/** A hint for a string that is not a duration. */
export function durationHelp(text: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(text);
  if (m) {
    const word = (m[2] as string).toLowerCase();
    const unit = word.startsWith('mi') && word !== 'ms' ? 'm' : word.startsWith('ms') || word.startsWith('milli') ? 'ms' : word[0];
    if (unit && unit in UNIT_MS) return `write '${m[1]}${unit}'; units are ms, s, m, h and d`;
  }
  if (/^\d+$/.test(text.trim())) return `add a unit: '${text.trim()}s' or '${text.trim()}m'`;
  return "a duration is a number and a unit, such as '90s', '10m', '2h', '1d' or '1h30m'";
}

/** '1h30m' style text for a number of milliseconds. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
