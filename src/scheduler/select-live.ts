/** The live tasks a `list` filter matches, newest first, for the batch operations. */
import type { TaskFilter } from '../types.js';
import type { LiveTask } from './live-task.js';

function matches<T>(wanted: T | T[] | undefined, value: T): boolean {
  if (wanted === undefined) return true;
  return Array.isArray(wanted) ? wanted.includes(value) : wanted === value;
}

export function selectLive(tasks: Iterable<LiveTask>, filter: TaskFilter): LiveTask[] {
  const selected: LiveTask[] = [];
  for (const task of tasks) {
    if (matches(filter.status, task.status) && matches(filter.priority, task.priority) && matches(filter.type, task.type)) {
      selected.push(task);
    }
  }
  if (filter.limit === undefined && filter.offset === undefined) return selected;
  selected.sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
  const offset = filter.offset ?? 0;
  return selected.slice(offset, filter.limit === undefined ? undefined : offset + filter.limit);
}
