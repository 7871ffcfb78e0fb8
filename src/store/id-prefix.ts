/** Where the ids that start with a prefix lie in the id index. */

const MAX_CODE_POINT = 0x10ffff;

/**
 * The bounds [lower, upper) of the strings that start with `prefix`, in SQLite's BINARY
 * order (UTF-8 bytes, which is code point order): `prefix` itself, and `prefix` with its last
 * code point raised by one. A last code point that cannot be raised (U+10FFFF) is dropped and
 * the one before it raised; `upper` is undefined when none can be (no upper bound).
 */
export function idPrefixRange(prefix: string): [lower: string, upper: string | undefined] {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  for (let i = points.length - 1; i >= 0; i--) {
    const point = points[i]!;
    if (point === MAX_CODE_POINT) continue;
    // Surrogate code points are not characters; no string holds one between U+D7FF and U+E000.
    const next = point + 1 >= 0xd800 && point + 1 <= 0xdfff ? 0xe000 : point + 1;
    return [prefix, String.fromCodePoint(...points.slice(0, i), next)];
  }
  return [prefix, undefined];
}
