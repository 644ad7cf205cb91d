// Whole-string globs for conditions and changed(): `*` within a segment, `**` across `/`, `?` one character.

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        // `**/` also matches no directory at all.
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else {
      re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    }
  }
  re += '$';
  const compiled = new RegExp(re);
  if (cache.size > 1000) cache.clear();
  cache.set(glob, compiled);
  return compiled;
}

export function globMatch(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value);
}
