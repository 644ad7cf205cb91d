// Small lists sized to what they hold. V8 gives an array that grows by push room for 16 elements
// (152 bytes for one element); the parser's many small lists (a string's segments, a step's
// arguments, a block's items) live as long as the program, and their slack was a quarter of what a
// 5,000-stage pipeline keeps in memory, copied by every young-generation collection while it is built.

/** `xs`, or an exact-size copy of it while it is small (larger ones have proportionally less slack). */
export function fit<T>(xs: T[]): T[] {
  return xs.length > 16 ? xs : xs.slice();
}
