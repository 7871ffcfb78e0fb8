/**
 * Paging of the task list, newest first, by keyset: a page's cursor is the id of its last
 * task, and the next page is the store's list `before` that task, wherever it has moved, so
 * tasks submitted (or removed) meanwhile neither repeat nor skip rows, and a page deep in a
 * million rows costs what the first does. The text filter (a name containing it, or an id
 * starting with it) is applied while reading, at most SCAN_LIMIT rows per page: the store
 * has no text index, and a page must answer in bounded time.
 */
import type { ListFilter, Priority, Task, TaskStatus } from '../types.js';

const BATCH = 200;
const SCAN_LIMIT = 5000;

export interface ListQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: Priority[];
  /** A name contains it, or an id starts with it; case-insensitive. */
  text?: string;
  /** The id of the last task of the page before. */
  cursor?: string;
  limit: number;
}

export interface Page {
  tasks: Task[];
  /** The cursor of the next (older) page, or null at the end. */
  next: string | null;
}

/** Throws ERR_TASK_NOT_FOUND (from the store's list) when the cursor's task was removed. */
export async function readPage(list: (filter: ListFilter) => Promise<Task[]>, query: ListQuery): Promise<Page> {
  const filter: ListFilter = {};
  if (query.status?.length) filter.status = query.status;
  if (query.type?.length) filter.type = query.type;
  if (query.priority?.length) filter.priority = query.priority;
  const text = query.text?.trim().toLowerCase() ?? '';
  const matches = (task: Task) => text === '' || task.id.startsWith(text) || (task.name?.toLowerCase().includes(text) ?? false);
  // Without text, one more than a page tells whether there is a next one.
  const size = text === '' ? query.limit + 1 : BATCH;
  let before = query.cursor;
  const tasks: Task[] = [];
  let scanned = 0;
  for (;;) {
    const batch = await list(before === undefined ? { ...filter, limit: size } : { ...filter, before, limit: size });
    for (let i = 0; i < batch.length; i++) {
      const task = batch[i]!;
      scanned++;
      if (matches(task)) tasks.push(task);
      if (tasks.length === query.limit || scanned >= SCAN_LIMIT) {
        const more = i < batch.length - 1 || batch.length === size;
        return { tasks, next: more ? task.id : null };
      }
    }
    if (batch.length < size) return { tasks, next: null };
    before = batch.at(-1)!.id;
  }
}
