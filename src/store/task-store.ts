import type { ScheduleStore } from './schedule-store.js';
import type { TaskClaims } from './task-claims.js';

export type { RecoveredState, StoredTask } from './task-claims.js';
import type { Backoff, CleanupOptions, Priority, Task, TaskError, TaskEvent, ListFilter, TaskStats, TaskStatus } from '../types.js';

/**
 * The store keeps the truth about every task. The scheduler talks to it only through this
 * interface, so a second backend (Postgres, for several hosts) can arrive without touching
 * the scheduler; test/store/conformance.ts runs one suite against every implementation.
 *
 * Writes arrive in batches (src/store/write-batcher.ts collects them, one batch per turn of
 * the event loop) and each batch is applied atomically: either all of it or none.
 */
export interface TaskStore extends TaskClaims {
  /** Applies inserts, then patches, in one transaction. */
  commit(batch: WriteBatch): Promise<void>;
  get(id: string): Promise<Task | undefined>;
  /** Newest first (created_at, then submit order, descending). */
  /** Newest first; with `before`, the tasks after that one (none if it is not stored). */
  list(filter: StoreListFilter): Promise<Task[]>;
  /**
   * A slice of `list(filter)` with a text filter, in bounded time at any size: the tasks
   * whose name contains `search.text` or (see TextSearch.ids) whose id starts with it, newest
   * first, at most `filter.limit` of them, among no more than `search.scan` rows of the list
   * after `filter.before` (none after an unknown id). No index serves a substring, so the
   * rows are read in list order through the list's index, and the slice says where it
   * stopped: the caller goes on from `last`.
   */
  search(filter: ListFilter, search: TextSearch): Promise<SearchSlice>;
  /** At most `limit` tasks whose id starts with `prefix`, by id: a range of the id index, whatever the size. */
  findByPrefix(prefix: string, limit?: number): Promise<Task[]>;
  stats(): Promise<TaskStats>;
  /** Removes finished tasks whose completedAt <= now - olderThanMs; returns how many. */
  cleanup(options: Required<CleanupOptions>, now: number): Promise<number>;
  /**
   * Retention (src/scheduler/retention.ts): removes at most `limit` tasks of `status` whose
   * completedAt <= cutoff, oldest first, and returns how many. Bounded so one call never holds
   * the main thread (or the write lock) for long; the caller repeats until it returns < limit.
   */
  sweep(status: FinishedStatus, cutoff: number, limit: number): Promise<number>;
  /** The smallest completedAt among tasks of `status`, or null when there are none. */
  oldestFinished(status: FinishedStatus): Promise<number | null>;
  /** The cron schedules kept beside the tasks. */
  readonly schedules: ScheduleStore;
  close(): Promise<void>;
}

/**
 * A list's filter as the store takes it: `createdBefore` (epoch ms, instead of `before`)
 * starts a page after a task that has no row (see src/list-merge.ts).
 */
export interface StoreListFilter extends ListFilter {
  createdBefore?: number;
}

/** What TaskStore.search looks for. */
export interface TextSearch {
  /** Lower case; a name matches when it contains it once lower-cased (SQLite folds A-Z only). */
  text: string;
  /** 'match': a task whose id starts with `text` matches too; 'exclude': it never matches (listed apart by findByPrefix). */
  ids: 'match' | 'exclude';
  /** Rows of the list read at most. */
  scan: number;
}

export interface SearchSlice {
  /** The matches, newest first. */
  tasks: Task[];
  /** Rows of the list read: up to the last match when `limit` were found, else the whole slice. */
  scanned: number;
  /** The id to go on from (as `before`): the last row read, or null when the list ended there. */
  last: string | null;
}

/** The statuses a task ends in; only these are ever removed. */
export type FinishedStatus = 'completed' | 'failed' | 'cancelled';

/**
 * What a new row is made of that the task itself knows: its identity columns, read-only.
 * The row is `queued`, progress 0, attempts 0, unless the batch's `changes` say otherwise.
 *
 * An interface the scheduler's own task object meets (src/scheduler/live-task.ts), so a
 * new task waits for its INSERT as itself and not as a copy: 100k tasks submitted at once
 * all wait, and each object that waits across a garbage collection is copied by it. What
 * the row needs besides (the payload's bytes, the changes made before it was written) the
 * write batcher keeps beside it in the batch (see WriteBatch), never on the task.
 */
export interface NewTaskRecord {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly name: string | null;
  readonly description: string | null;
  readonly priority: Priority;
  readonly createdAt: number;
  readonly runAt: number | null;
  readonly timeoutMs: number | null;
  readonly retries: number;
  readonly backoff: Backoff | null;
  readonly key: string | null;
  readonly dependsOn: readonly string[];
  /** Null: the default ('cancel'), left unwritten. */
  readonly onParentFailure: Task['onParentFailure'] | null;
  readonly group: string | null;
}

/** A change to some columns of one row; absent keys are left as they are. */
export interface TaskPatch {
  status?: TaskStatus;
  priority?: Priority;
  progress?: number;
  progressMessage?: string | null;
  result?: unknown;
  error?: TaskError | null;
  attempts?: number;
  startedAt?: number | null;
  completedAt?: number | null;
  runAt?: number | null;
  /** Durable checkpoint state (EncodedValue bytes), or null to clear it. */
  checkpoint?: unknown;
  /** A new payload (EncodedValue bytes): a debounced submit replaced it. */
  payload?: unknown;
  updatedAt: number;
}

/**
 * One transaction's writes. The new rows are three parallel arrays, one entry per row (no
 * object per row: a burst of 100k submits would hold 100k of them until written).
 */
export interface WriteBatch {
  /** The new rows, in the order they were queued. */
  inserts: NewTaskRecord[];
  /**
   * payloads[i] is what inserts[i] stores as its payload: an EncodedValue (the bytes submit
   * made), or a value the store encodes.
   */
  payloads: unknown[];
  /**
   * changes[i] is what happened to inserts[i] before its row was written (it started, or even
   * finished, within the same batch), or undefined: the row is inserted with them, not
   * inserted and then updated.
   */
  changes: (TaskPatch | undefined)[];
  /** At most one patch per task id, already merged in order; applied after the inserts. */
  patches: Map<string, TaskPatch>;
  /**
   * What the batch's changes did, as events, in order: a shared store tells them to the
   * other hosts once the batch is committed (never before: nothing is told that is not
   * stored). An exclusive store has no one to tell and ignores them.
   */
  events: TaskEvent[];
}
