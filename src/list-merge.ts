/**
 * `list()` when live tasks that have no row (durable: false) are in play: the store's page
 * and those tasks, as one list, newest first.
 *
 * The store orders its rows by (created_at, seq); a task without a row has no place in that
 * order that the store could seek to, so the two are merged by creation time alone: within
 * one millisecond the stored rows come first (in the store's order), then the others (newest
 * submit first). That order is total and the same on every call, so keyset paging (`before`)
 * works across both: after a stored task, the store's own keyset and the unstored tasks of
 * its millisecond or older; after an unstored one, the rows created before its millisecond
 * (`createdBefore`) and the unstored tasks after it.
 */
import { TaskNotFoundError } from './errors.js';
import type { LiveTask } from './scheduler/live-task.js';
import type { StoreListFilter, TaskStore } from './store/task-store.js';
import type { ListFilter, Task } from './types.js';

/** As the stores' own default. */
const DEFAULT_LIST_LIMIT = 100;

export interface UnstoredTasks {
  /** The live tasks without a row that match the filter's status, priority and type, in any order. */
  matches: LiveTask[];
  /** The `before` task, when it is one of the live tasks without a row. */
  cursor: LiveTask | undefined;
  /** A task's state now, as `get` answers it. */
  snapshot(task: LiveTask): Task;
}

export async function listMerged(store: Pick<TaskStore, 'list' | 'get'>, filter: ListFilter, unstored: UnstoredTasks): Promise<Task[]> {
  const { before, limit = DEFAULT_LIST_LIMIT, offset = 0, ...match } = filter;
  // The merged list's offset is counted over both: the store is asked from its start.
  const page: StoreListFilter = { ...match, limit: offset + limit, offset: 0 };
  const { cursor } = unstored;
  let after: (task: LiveTask) => boolean = () => true;
  if (cursor !== undefined) {
    page.createdBefore = cursor.createdAt;
    after = (task) => task.createdAt < cursor.createdAt || (task.createdAt === cursor.createdAt && task.seq < cursor.seq);
  } else if (before !== undefined) {
    const anchor = await store.get(before);
    if (anchor === undefined) throw new TaskNotFoundError(before);
    page.before = before;
    after = (task) => task.createdAt <= anchor.createdAt;
  }
  const stored = await store.list(page);
  const mine = unstored.matches.filter(after).sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
  const merged: Task[] = [];
  const want = offset + limit;
  let s = 0;
  let m = 0;
  while (merged.length < want && (s < stored.length || m < mine.length)) {
    if (m === mine.length || (s < stored.length && stored[s]!.createdAt >= mine[m]!.createdAt)) merged.push(stored[s++]!);
    else merged.push(unstored.snapshot(mine[m++]!));
  }
  return offset === 0 ? merged : merged.slice(offset);
}
