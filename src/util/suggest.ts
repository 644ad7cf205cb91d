// "Did you mean …?": the closest candidate by edit distance, if it is close enough.

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      }
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] as number;
}

/** The candidate nearest to `word`, or undefined when none is plausibly meant. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    // A case slip is the most likely mistake of all.
    const d = cl === lower ? 0.5 : editDistance(lower, cl);
    const limit = Math.max(1, Math.floor(Math.max(word.length, c.length) / 3));
    if (d <= limit && d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best;
}

/** `did you mean 'x'?`, or a list of the valid choices when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], what = 'valid choices'): string {
  const near = closest(word, candidates);
  if (near !== undefined) return `did you mean '${near}'?`;
  return `${what}: ${listChoices(candidates)}`;
}

export function listChoices(candidates: readonly string[]): string {
  const quoted = candidates.map((c) => `'${c}'`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}
