import type Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  AmbiguousIdError,
  InvalidOptionError,
  OffthreadError,
  RuntimeClosedError,
  StoreCorruptError,
  StoreNotFoundError,
  StoreUnavailableError,
} from '../errors.js';
import { resolveFilter } from '../options/list-filter.js';
import type { ScheduleInfo } from '../scheduler/cron.js';
import { openDatabase, type Durability } from '../store/open-database.js';
import { PRIORITIES, type CleanupOptions, type Priority, type Task, type TaskFilter, type TaskStats, type TaskStatus } from '../types.js';
import { checkCleanupOptions, removeFinished } from './cleanup.js';
import { checkPrefix, prefixRange } from './prefix.js';
import { FILTER_MANY, FILTER_ONE, LIST_FILTERS, ReadStatements } from './queries.js';
import { rowToSchedule, rowToTask } from './rows.js';

/** Options of `openInspector`. */
export interface InspectorOptions {
  /**
   * What `cleanup()`'s deletes survive, as a runtime's `durability`: `'normal'` (a crash of
   * the process) or `'full'` (also a power loss). @default 'normal'
   */
  durability?: Durability;
}

const OPTION_KEYS = ['durability'];
/** TaskFilter's documented default, as TaskRuntime.list applies it. */
const DEFAULT_LIST_LIMIT = 100;

/**
 * Opens a task database for inspection, without a runtime: no worker thread, no handlers
 * module. Reads go through a read-only connection that takes no owner lock, so they work
 * while a runtime has the file open; `cleanup()` alone writes, taking the lock for its one
 * statement. A missing file is never created: rejects with StoreNotFoundError
 * (ERR_STORE_NOT_FOUND). Also rejects with ERR_INVALID_OPTION, ERR_STORE_VERSION (a file of
 * a newer offthread, or of an older one not yet migrated by a runtime), ERR_STORE_CORRUPT
 * and ERR_STORE_UNAVAILABLE.
 */
export async function openInspector(path: string, options?: InspectorOptions): Promise<TaskInspector> {
  return TaskInspector.open(path, options);
}

/** A read-only view of a task database, plus `cleanup()`. See `openInspector`. */
export class TaskInspector {
  readonly #path: string;
  readonly #durability: Durability;
  readonly #db: Database.Database;
  readonly #sql: ReadStatements;
  #closed = false;

  /** @internal Use openInspector(). */
  static open(path: string, options: InspectorOptions = {}): TaskInspector {
    checkPath(path);
    const durability = checkOptions(options);
    if (!existsSync(path)) throw new StoreNotFoundError(path, resolve(path));
    if (!statSync(path).isFile()) throw new StoreUnavailableError(path, new Error('it is a directory (or another non-file), not a database file'));
    const { db } = openDatabase(path, { readonly: true });
    try {
      return new TaskInspector(path, durability, db);
    } catch (error) {
      db.close();
      throw storeError(path, error);
    }
  }

  private constructor(path: string, durability: Durability, db: Database.Database) {
    this.#path = path;
    this.#durability = durability;
    this.#db = db;
    this.#sql = new ReadStatements(db);
  }

  /** The task with this whole id, or undefined. */
  async get(id: string): Promise<Task | undefined> {
    return this.#read('get a task', () => {
      if (typeof id !== 'string') throw new InvalidOptionError('id', `expected a task id (a string), got ${typeof id}.`);
      const row = this.#sql.get.get(id);
      return row && rowToTask(row);
    });
  }

  /**
   * The task whose id is `idOrPrefix`, or the one task whose id starts with it (4 characters
   * or more), or undefined when none does. Reads at most two entries of the id index.
   * Rejects with AmbiguousIdError (ERR_AMBIGUOUS_ID) when several ids start with it, and
   * ERR_INVALID_OPTION when it is shorter than 4 characters.
   */
  async find(idOrPrefix: string): Promise<Task | undefined> {
    return this.#read('find a task', () => {
      const prefix = checkPrefix(idOrPrefix);
      const [lower, upper] = prefixRange(prefix);
      const rows = upper === undefined ? this.#sql.findPrefixOpen.all(lower) : this.#sql.findPrefix.all(lower, upper);
      const [first, second] = rows;
      if (first === undefined) return undefined;
      // The whole id sorts before every longer id that starts with it.
      if (second === undefined || first.id === prefix) return rowToTask(first);
      throw new AmbiguousIdError(prefix, [first.id, second.id]);
    });
  }

  /** Tasks matching the filter (as TaskRuntime.list takes it), newest first. */
  async list(filter: TaskFilter = {}): Promise<Task[]> {
    return this.#read('list tasks', () => {
      const checked = resolveFilter(filter);
      let shape = 0;
      const args: unknown[] = [];
      for (let i = 0, digit = 1; i < LIST_FILTERS.length; i++, digit *= 3) {
        const key = LIST_FILTERS[i]!;
        const value = checked[key];
        if (value === undefined) continue;
        const values: unknown[] = Array.isArray(value) ? value : [value];
        const bound = key === 'priority' ? values.map((p) => PRIORITIES.indexOf(p as Priority)) : values;
        if (bound.length === 1) {
          shape += FILTER_ONE * digit;
          args.push(bound[0]);
        } else {
          shape += FILTER_MANY * digit;
          args.push(JSON.stringify(bound));
        }
      }
      args.push(checked.limit ?? DEFAULT_LIST_LIMIT, checked.offset ?? 0);
      return this.#sql.list(shape).all(...args).map(rowToTask);
    });
  }

  /** How many tasks there are in each status (one GROUP BY). */
  async stats(): Promise<TaskStats> {
    return this.#read('count tasks', () => {
      const stats: TaskStats = { total: 0, queued: 0, running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const { status, n } of this.#sql.countByStatus.all()) {
        stats.total += n;
        if (Object.hasOwn(stats, status) && status !== 'total') stats[status as TaskStatus] = n;
      }
      return stats;
    });
  }

  /** The cron schedules kept in the file, by name, as TaskRuntime.schedules reports them. */
  async schedules(): Promise<ScheduleInfo[]> {
    return this.#read('list schedules', () => this.#sql.schedules.all().map(rowToSchedule));
  }

  /**
   * Removes finished tasks that finished at least `olderThanMs` ago (as TaskRuntime.cleanup)
   * and resolves to how many. Starts no thread and needs no handlers: unfinished tasks are
   * left as they are. Takes the owner lock for the delete, so a file a runtime has open is
   * refused with StoreLockedError (ERR_STORE_LOCKED), naming its process.
   */
  async cleanup(options: CleanupOptions): Promise<number> {
    this.#assertOpen('clean up tasks');
    const checked = checkCleanupOptions(options);
    try {
      return removeFinished(this.#path, checked, this.#durability, Date.now());
    } catch (error) {
      throw storeError(this.#path, error);
    }
  }

  /** Closes the connection. Later calls reject with RuntimeClosedError (ERR_RUNTIME_CLOSED). Idempotent. */
  async close(): Promise<void> {
    this[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new RuntimeClosedError(action, 'inspector');
  }

  #read<T>(action: string, read: () => T): T {
    this.#assertOpen(action);
    try {
      return read();
    } catch (error) {
      throw storeError(this.#path, error);
    }
  }
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '' || path === ':memory:') {
    throw new InvalidOptionError(
      'path',
      `expected the path of a database file, got ${typeof path === 'string' ? `"${path}"` : typeof path}` +
        (path === ':memory:' || path === '' ? ': an in-memory database belongs to its runtime and cannot be opened again.' : '.'),
    );
  }
}

function checkOptions(options: unknown): Durability {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected { durability? }.');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new InvalidOptionError(key, `unknown option; openInspector takes ${OPTION_KEYS.join(', ')}.`);
  }
  const { durability = 'normal' } = options as InspectorOptions;
  if (durability !== 'normal' && durability !== 'full') {
    throw new InvalidOptionError('durability', `expected 'normal' or 'full', got ${String(durability)}.`);
  }
  return durability;
}

/** Every error as an OffthreadError: SQLite's own (a damaged file, an I/O error) wrapped. */
function storeError(path: string, error: unknown): unknown {
  if (error instanceof OffthreadError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new StoreCorruptError(path, error);
  return new StoreUnavailableError(path, error);
}
