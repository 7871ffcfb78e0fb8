/**
 * Restored tasks share their limits and relations objects where they are alike, as new tasks
 * share their type's defaults (src/options/submit-options.ts): a million restored tasks would
 * otherwise hold two objects each for the same few values (heap per task after a reopen
 * 596 -> 444 B). The shared objects are frozen; nothing changes a task's limits or relations
 * in place.
 */
import { PLAIN_RELATIONS } from '../options/submit-options.js';
import type { StoredTask } from '../store/task-store.js';
import { LiveTask, type TaskLimits, type TaskRelations } from './live-task.js';

export class RestoredShapes {
  private readonly limits = new Map<string, TaskLimits>();

  /** The live task of an unfinished row, as its last run left it: held if paused, else waiting. */
  taskOf(row: StoredTask): LiveTask {
    const task = new LiveTask({
      id: row.id,
      type: row.type,
      seq: row.seq,
      priority: row.priority,
      name: row.name,
      description: row.description,
      payload: row.payload,
      createdAt: row.createdAt,
      attempts: row.attempts,
      phase: row.status === 'paused' ? 'held' : 'waiting',
      limits: this.limitsOf(row),
      relations: this.relationsOf(row),
    });
    task.progress = row.progress;
    task.progressMessage = row.progressMessage;
    task.runAt = row.runAt;
    task.lastError = row.error;
    task.checkpoint = row.checkpoint;
    return task;
  }

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
    if (row.key === null && row.dependsOn.length === 0 && row.onParentFailure === 'cancel' && row.group === null) return PLAIN_RELATIONS;
    return { key: row.key, dependsOn: row.dependsOn, onParentFailure: row.onParentFailure, group: row.group };
  }
}
