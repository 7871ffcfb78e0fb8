/**
 * Keyset paging of the task list, newest first. A page ends at a cursor naming its last
 * task (created at, id): the next page starts right after that task wherever it has moved,
 * so tasks submitted (or removed) meanwhile neither repeat nor skip rows. The store lists by
 * limit and offset only, so the cursor also carries the offset where that task was, as a
 * hint for where to start reading; it is checked against the cursor's task, not trusted.
 * The text filter (a name containing it, or an id starting with it) is applied while
 * reading, at most SCAN_LIMIT rows per page.
 */
import type { Priority, Task, TaskFilter, TaskStatus } from '../types.js';

const BATCH = 200;
const SCAN_LIMIT = 5000;

export interface ListQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: Priority[];
  /** A name contains it, or an id starts with it; case-insensitive. */
  text?: string;
  cursor?: string;
  limit: number;
}

export interface Page {
  tasks: Task[];
  /** The cursor of the next (older) page, or null at the end. */
  next: string | null;
}

interface Cursor {
  createdAt: number;
  id: string;
  offset: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id, cursor.offset])).toString('base64url');
}

export function decodeCursor(text: string): Cursor | null {
  try {
    const [createdAt, id, offset] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt !== 'number' || typeof id !== 'string' || typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) return null;
    return { createdAt, id, offset };
  } catch {
    return null;
  }
}

export async function readPage(list: (filter: TaskFilter) => Promise<Task[]>, query: ListQuery): Promise<Page> {
  const filter: TaskFilter = {};
  if (query.status?.length) filter.status = query.status;
  if (query.type?.length) filter.type = query.type;
  if (query.priority?.length) filter.priority = query.priority;
  const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const text = query.text?.trim().toLowerCase() ?? '';
  const matches = (task: Task) => text === '' || task.id.startsWith(text) || (task.name?.toLowerCase().includes(text) ?? false);
  const read = (offset: number) => list({ ...filter, offset, limit: BATCH });

  let offset = cursor === null ? 0 : Math.max(0, cursor.offset - 1);
  let batch = await read(offset);
  // Rows removed above the cursor moved it up: step back until the batch starts at or before it.
  while (cursor !== null && offset > 0 && batch.length > 0 && isAfter(batch[0]!, cursor)) {
    offset = Math.max(0, offset - BATCH);
    batch = await read(offset);
  }
  let passed = cursor === null;
  const tasks: Task[] = [];
  let scanned = 0;
  let last: Cursor | null = null;
  for (;;) {
    for (let i = 0; i < batch.length; i++) {
      const task = batch[i]!;
      if (!passed) {
        if (task.id === cursor!.id) {
          passed = true;
          continue;
        }
        if (!isAfter(task, cursor!)) continue;
        passed = true; // the cursor's task is gone: this is the first one older than it
      }
      scanned++;
      last = { createdAt: task.createdAt, id: task.id, offset: offset + i + 1 };
      if (matches(task)) tasks.push(task);
      if (tasks.length === query.limit || scanned >= SCAN_LIMIT) {
        const more = i < batch.length - 1 || batch.length === BATCH;
        return { tasks, next: more ? encodeCursor(last) : null };
      }
    }
    if (batch.length < BATCH) return { tasks, next: null };
    offset += BATCH;
    batch = await read(offset);
  }
}

/** Whether a task comes after (is older than) the cursor in newest-first order. */
function isAfter(task: Task, cursor: Cursor): boolean {
  return task.createdAt < cursor.createdAt;
}
