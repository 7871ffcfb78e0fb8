import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidOptionError, StoreNotFoundError } from '../errors.js';
import { openDatabase, type Durability } from '../store/open-database.js';
import { FINISHED_STATUSES, type CleanupOptions, type TaskStatus } from '../types.js';
import { CLEANUP_SQL } from './queries.js';

/** Checks `cleanup`'s options as TaskRuntime.cleanup does; fills in the default statuses. */
export function checkCleanupOptions(options: unknown): Required<CleanupOptions> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected { olderThanMs, statuses? }.');
  }
  const { olderThanMs, statuses = [...FINISHED_STATUSES] } = options as Partial<CleanupOptions>;
  if (typeof olderThanMs !== 'number' || !(olderThanMs >= 0)) {
    throw new InvalidOptionError('olderThanMs', `expected a number of ms >= 0, got ${String(olderThanMs)}.`);
  }
  if (!Array.isArray(statuses)) {
    throw new InvalidOptionError('statuses', `expected an array of finished statuses (completed, failed, cancelled), got ${String(statuses)}.`);
  }
  for (const status of statuses as unknown[]) {
    if (!FINISHED_STATUSES.includes(status as TaskStatus)) {
      throw new InvalidOptionError('statuses', `only finished tasks can be removed (completed, failed, cancelled), got "${String(status)}".`);
    }
  }
  return { olderThanMs, statuses };
}

/**
 * Removes the finished tasks of `statuses` that finished at or before `now - olderThanMs`,
 * and returns how many. Opens the file read-write for this one statement, as a runtime does
 * (the owner lock first: a file a runtime has open is refused with StoreLockedError, and
 * nothing is written), and closes it again; no thread is started and no task is touched but
 * the ones removed. Never creates the file.
 */
export function removeFinished(path: string, options: Required<CleanupOptions>, durability: Durability, now: number): number {
  // Checked here too: the file may have gone since the inspector opened it, and a read-write
  // open would create it.
  if (!existsSync(path)) throw new StoreNotFoundError(path, resolve(path));
  const { db, lock } = openDatabase(path, { durability });
  try {
    // Each finished status once, so three slots always suffice.
    const [a = null, b = null, c = null] = FINISHED_STATUSES.filter((s) => options.statuses.includes(s));
    return db.prepare(CLEANUP_SQL).run(now - options.olderThanMs, a, b, c).changes;
  } finally {
    db.close();
    lock?.release();
  }
}
