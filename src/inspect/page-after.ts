/** A page of `list()`, and what an empty page after a task no longer stored means. */
import { TaskNotFoundError } from '../errors.js';
import type { TaskStore } from '../store/task-store.js';
import type { ListFilter, Task } from '../types.js';

/**
 * The store's page. An empty page after `before` is the end of the list, or a `before`
 * task that was removed (a retention sweep, cleanup): the caller is told which, since
 * "no more tasks" would be wrong in the second case.
 */
export async function pageAfter(store: Pick<TaskStore, 'list' | 'get'>, filter: ListFilter): Promise<Task[]> {
  const page = await store.list(filter);
  if (page.length === 0 && filter.before !== undefined && (await store.get(filter.before)) === undefined) {
    throw new TaskNotFoundError(filter.before);
  }
  return page;
}
