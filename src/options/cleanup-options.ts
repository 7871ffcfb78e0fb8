import { InvalidOptionError } from '../errors.js';
import { FINISHED_STATUSES, type CleanupOptions, type TaskStatus } from '../types.js';

/** Checks `cleanup`'s options (a runtime's and an inspector's); fills in the default statuses. */
export function checkCleanupOptions(options: unknown): Required<CleanupOptions> {
  // Given nothing, the message names what is missing: olderThanMs.
  if (options === undefined) options = {};
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
