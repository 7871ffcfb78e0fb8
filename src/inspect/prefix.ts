import { InvalidOptionError } from '../errors.js';

/** The fewest characters of an id that `find` looks a task up by. */
export const MIN_PREFIX_LENGTH = 4;

const MAX_CODE_POINT = 0x10ffff;

/** Checks what `find` was given: a string of at least MIN_PREFIX_LENGTH characters. */
export function checkPrefix(idOrPrefix: unknown): string {
  if (typeof idOrPrefix !== 'string') {
    throw new InvalidOptionError('id', `expected a task id or the start of one (a string), got ${typeof idOrPrefix}.`);
  }
  if ([...idOrPrefix].length < MIN_PREFIX_LENGTH) {
    throw new InvalidOptionError(
      'id',
      `"${idOrPrefix}" is too short to find a task by: give the whole id, or at least ${MIN_PREFIX_LENGTH} characters of its start.`,
    );
  }
  return idOrPrefix;
}

/**
 * The bounds [lower, upper) of the strings that start with `prefix`, in SQLite's BINARY
 * order (UTF-8 bytes, which is code point order): `prefix` itself, and `prefix` with its last
 * code point raised by one. A last code point that cannot be raised (U+10FFFF) is dropped and
 * the one before it raised; `upper` is undefined when none can be (no upper bound).
 */
export function prefixRange(prefix: string): [lower: string, upper: string | undefined] {
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
