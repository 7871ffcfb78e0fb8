import { InvalidOptionError } from '../errors.js';

/** The fewest characters of an id that `find` looks a task up by. */
export const MIN_PREFIX_LENGTH = 4;

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
