/**
 * Paging of the task list, newest first, by keyset: a page's cursor is the id of its last
 * task, and the next page is the store's list `before` that task, wherever it has moved, so
 * tasks submitted (or removed) meanwhile neither repeat nor skip rows, and a page deep in a
 * million rows costs what the first does.
 *
 * The text filter (a name containing it, or an id starting with it) has no index to use for
 * names, so a page reads at most SCAN_LIMIT rows of the list (the store matches them in SQL) and
 * its cursor goes on from where it stopped: a search never misses a task, never blocks for
 * long, and says how far it has looked. Ids are found through the id index instead: the
 * first page lists every task whose id starts with the text (when there are at most a
 * page of them), and the slices then match names only.
 */
import { TaskNotFoundError } from '../errors.js';
import type { SearchSlice, TextSearch } from '../store/task-store.js';
import type { ListFilter, Priority, Task, TaskStatus } from '../types.js';

/** Rows of the list a text search reads per page. */
export const SCAN_LIMIT = 50_000;
/** Rows read by one query of the store (a few ms on SQLite at a million tasks). */
const CHUNK = 10_000;

export interface ListQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: Priority[];
  /** A name contains it, or an id starts with it; case-insensitive. */
  text?: string;
  /** The id of the last task of the page before. */
  cursor?: string;
  limit: number;
  /** With a text filter: rows of the list read at most. @default SCAN_LIMIT */
  scan?: number;
}

export interface Page {
  tasks: Task[];
  /** The cursor of the next (older) page, or null at the end. */
  next: string | null;
  /** With a text filter: how far this page looked, and whether ids were found apart. */
  search: { scanned: number; byId: number } | null;
}

/** What a page is read from (a DashboardSource). */
export interface PageReads {
  get(id: string): Promise<Task | undefined>;
  list(filter: ListFilter): Promise<Task[]>;
  search(filter: ListFilter, search: TextSearch): Promise<SearchSlice>;
  findByPrefix(prefix: string, limit: number): Promise<Task[]>;
}

/** Throws ERR_TASK_NOT_FOUND (from the store's list) when the cursor's task was removed. */
export async function readPage(reads: PageReads, query: ListQuery): Promise<Page> {
  const scan = query.scan ?? SCAN_LIMIT;
  const filter: ListFilter = {};
  if (query.status?.length) filter.status = query.status;
  if (query.type?.length) filter.type = query.type;
  if (query.priority?.length) filter.priority = query.priority;
  const text = query.text?.trim().toLowerCase() ?? '';
  if (text === '') {
    // One more than a page tells whether there is a next one.
    const rows = await reads.list(query.cursor === undefined ? { ...filter, limit: query.limit + 1 } : { ...filter, before: query.cursor, limit: query.limit + 1 });
    const tasks = rows.slice(0, query.limit);
    return { tasks, next: rows.length > query.limit ? tasks.at(-1)!.id : null, search: null };
  }
  // The tasks whose id starts with the text, by the id index: a page of them at most. When
  // they all fit, they lead the first page and the slices skip them; when more ids start
  // with it (a short prefix), the slices match ids too.
  const prefixed = await reads.findByPrefix(text, query.limit + 1);
  const byId = prefixed.length <= query.limit ? prefixed.filter((task) => inFilter(task, filter)) : null;
  // The slice is read CHUNK rows at a time, each a query of its own: between them the
  // runtime that serves the page has its turn.
  const found: Task[] = [];
  let scanned = 0;
  let before = query.cursor;
  let last: string | null;
  for (;;) {
    const slice = await reads.search(
      { ...filter, ...(before === undefined ? {} : { before }), limit: query.limit - found.length },
      { text, ids: byId === null ? 'match' : 'exclude', scan: Math.min(CHUNK, scan - scanned) },
    );
    if (before !== undefined && before === query.cursor && slice.scanned === 0 && (await reads.get(before)) === undefined) throw new TaskNotFoundError(before);
    found.push(...slice.tasks);
    scanned += slice.scanned;
    last = slice.last;
    if (last === null || found.length >= query.limit || scanned >= scan) break;
    before = last;
  }
  const first = query.cursor === undefined && byId !== null ? byId.sort((a, b) => b.createdAt - a.createdAt) : [];
  return { tasks: [...first, ...found], next: last, search: { scanned, byId: first.length } };
}

function inFilter(task: Task, filter: ListFilter): boolean {
  const has = <T>(wanted: T | T[] | undefined, value: T) => wanted === undefined || (Array.isArray(wanted) ? wanted.includes(value) : wanted === value);
  return has(filter.status, task.status) && has(filter.type, task.type) && has(filter.priority, task.priority);
}
