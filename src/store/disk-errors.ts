/**
 * What a failing disk under a SQLite file looks like to callers: a typed OffthreadError that
 * names the file and says what to do, with SQLite's own error as its cause, never the
 * driver's error.
 */
import { StoreFullError, StoreIOError } from '../errors.js';

/**
 * A failure of the disk under the database as a typed error: SQLITE_FULL (no space, or the
 * quota) is StoreFullError, an SQLITE_IOERR of any kind StoreIOError; anything else is
 * passed on as it is (an OffthreadError already, or a programming error).
 */
export function diskError(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (code === 'SQLITE_FULL') return new StoreFullError(path, error);
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) return new StoreIOError(path, error);
  return error;
}

/** Runs a synchronous statement on the file at `path`, its disk's failures typed (see diskError). */
export function onDisk<T>(path: string, statement: () => T): T {
  try {
    return statement();
  } catch (error) {
    throw diskError(path, error);
  }
}
