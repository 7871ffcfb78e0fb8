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
import type { Dashboard, DashboardOptions } from '../dashboard/options.js';
import { checkCleanupOptions } from '../options/cleanup-options.js';
import { resolveListFilter } from '../options/list-filter.js';
import { pageAfter } from './page-after.js';
import { scheduleInfo, type ScheduleInfo } from '../scheduler/cron.js';
import type { Durability } from '../store/open-database.js';
import { redact } from '../store/postgres/pg-errors.js';
import { isPostgresUrl } from '../store/postgres/pg-url.js';
import { SqliteTaskStore } from '../store/sqlite-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { CleanupOptions, ListFilter, Task, TaskStats } from '../types.js';
import { checkPrefix } from './prefix.js';

/** Options of `openInspector`. */
export interface InspectorOptions {
  /**
   * What `cleanup()`'s deletes survive, as a runtime's `durability`: `'normal'` (a crash of
   * the process) or `'full'` (also a power loss). @default 'normal'
   */
  durability?: Durability;
  /** The queue to look at, in a PostgreSQL database. @default 'default' */
  queue?: string;
}

/** What the inspector reads through: the SQLite store, or a queue of the PostgreSQL store. */
type InspectedStore = Pick<TaskStore, 'get' | 'list' | 'search' | 'findByPrefix' | 'stats' | 'schedules' | 'cleanup' | 'close'>;

const OPTION_KEYS = ['durability', 'queue'];

/**
 * Opens a task database for inspection, without a runtime: no worker thread, no handlers
 * module. Reads go through the store opened read-only, which takes no owner lock, so they
 * work while a runtime has the file open; `cleanup()` alone writes, taking the lock for its
 * one statement. A missing file is never created: rejects with StoreNotFoundError
 * (ERR_STORE_NOT_FOUND). Also rejects with ERR_INVALID_OPTION, ERR_STORE_VERSION (a file of
 * a newer offthread, or of an older one not yet migrated by a runtime), ERR_STORE_CORRUPT
 * and ERR_STORE_UNAVAILABLE.
 */
export async function openInspector(path: string, options?: InspectorOptions): Promise<TaskInspector> {
  if (typeof path === 'string' && isPostgresUrl(path)) return TaskInspector.openPostgres(path, options);
  return TaskInspector.open(path, options);
}

/** A read-only view of a task database, plus `cleanup()`. See `openInspector`. */
export class TaskInspector {
  readonly #path: string;
  readonly #durability: Durability;
  /** The store, read-only: the same reads a runtime makes. */
  readonly #store: InspectedStore;
  /** A SQLite file is cleaned up under its owner lock; a shared queue through the store itself. */
  readonly #shared: boolean;
  #closed = false;
  /** Dashboards serving this database; close() closes them first. */
  readonly #dashboards = new Set<Dashboard>();

  /** @internal Use openInspector(). */
  static open(path: string, options: InspectorOptions = {}): TaskInspector {
    checkPath(path);
    const durability = checkOptions(options);
    if (!existsSync(path)) throw new StoreNotFoundError(path, resolve(path));
    if (!statSync(path).isFile()) throw new StoreUnavailableError(path, new Error('it is a directory (or another non-file), not a database file'));
    let store: SqliteTaskStore;
    try {
      store = SqliteTaskStore.open(path, { readonly: true });
    } catch (error) {
      throw storeError(path, error);
    }
    return new TaskInspector(path, durability, store, false);
  }

  /**
   * @internal A queue of a PostgreSQL database: read without migrating (a schema this code
   * does not know, or none yet, is ERR_STORE_VERSION); nothing is created.
   */
  static async openPostgres(url: string, options: InspectorOptions = {}): Promise<TaskInspector> {
    const durability = checkOptions(options);
    const { PgTaskStore } = await import('../store/postgres/pg-task-store.js');
    const store = await PgTaskStore.open({ connectionString: url, queue: options.queue ?? 'default', readonly: true, maxConnections: 2 });
    return new TaskInspector(redact(url), durability, store, true);
  }

  private constructor(path: string, durability: Durability, store: InspectedStore, shared: boolean) {
    this.#path = path;
    this.#durability = durability;
    this.#store = store;
    this.#shared = shared;
  }

  /** The task with this whole id, or undefined. */
  async get(id: string): Promise<Task | undefined> {
    return this.#read('get a task', () => {
      if (typeof id !== 'string') throw new InvalidOptionError('id', `expected a task id (a string), got ${typeof id}.`);
      return this.#store.get(id);
    });
  }

  /**
   * The task whose id is `idOrPrefix`, or the one task whose id starts with it (4 characters
   * or more), or undefined when none does. Reads at most two entries of the id index.
   * Rejects with AmbiguousIdError (ERR_AMBIGUOUS_ID) when several ids start with it, and
   * ERR_INVALID_OPTION when it is shorter than 4 characters.
   */
  async find(idOrPrefix: string): Promise<Task | undefined> {
    return this.#read('find a task', async () => {
      const prefix = checkPrefix(idOrPrefix);
      const [first, second] = await this.#store.findByPrefix(prefix);
      if (first === undefined) return undefined;
      // The whole id sorts before every longer id that starts with it.
      if (second === undefined || first.id === prefix) return first;
      throw new AmbiguousIdError(prefix, [first.id, second.id]);
    });
  }

  /** Tasks matching the filter (as TaskRuntime.list takes it), newest first. */
  async list(filter: ListFilter = {}): Promise<Task[]> {
    return this.#read('list tasks', () => pageAfter(this.#store, resolveListFilter(filter)));
  }

  /** How many tasks there are in each status (one GROUP BY). */
  async stats(): Promise<TaskStats> {
    return this.#read('count tasks', () => this.#store.stats());
  }

  /** The cron schedules kept in the file, by name, as TaskRuntime.schedules reports them. */
  async schedules(): Promise<ScheduleInfo[]> {
    return this.#read('list schedules', async () => (await this.#store.schedules.list()).map(scheduleInfo));
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
    // Any host may remove a shared queue's finished tasks: no lock to take.
    if (this.#shared) return this.#read('clean up tasks', () => this.#store.cleanup(checked, Date.now()));
    // Checked again: the file may have gone since the inspector opened it, and a read-write
    // open would create it.
    if (!existsSync(this.#path)) throw new StoreNotFoundError(this.#path, resolve(this.#path));
    let store: SqliteTaskStore | undefined;
    try {
      // The owner lock first (a file a runtime has open is refused, nothing written), no
      // checkpoint thread for one statement.
      store = SqliteTaskStore.open(this.#path, { durability: this.#durability, checkpointThread: false });
      return await store.cleanup(checked, Date.now());
    } catch (error) {
      throw storeError(this.#path, error);
    } finally {
      await store?.close();
    }
  }

  /**
   * Serves a read-only dashboard of this database over HTTP (docs/dashboard.md): the pages
   * and the JSON API without actions, kept live by re-reading the counts and the unfinished
   * tasks every second while a page is open. Options and errors as TaskRuntime.dashboard.
   */
  async dashboard(options?: DashboardOptions): Promise<Dashboard> {
    this.#assertOpen('open a dashboard');
    const [{ openDashboard }, { inspectorSource }] = await Promise.all([import('../dashboard/server.js'), import('../dashboard/source.js')]);
    const served = await openDashboard(
      inspectorSource(this, this.#path, {
        search: (filter, search) => this.#read('search tasks', () => this.#store.search(filter, search)),
        findByPrefix: (prefix, limit) => this.#read('find tasks', () => this.#store.findByPrefix(prefix, limit)),
      }),
      options,
    );
    const dashboard: Dashboard = {
      url: served.url,
      close: () => {
        this.#dashboards.delete(dashboard);
        return served.close();
      },
    };
    if (this.#closed) {
      await served.close();
      throw new RuntimeClosedError('open a dashboard', 'inspector');
    }
    this.#dashboards.add(dashboard);
    return dashboard;
  }

  /** Closes the connection. Later calls reject with RuntimeClosedError (ERR_RUNTIME_CLOSED). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#dashboards].map((dashboard) => dashboard.close()));
    await this.#store.close();
  }

  /** Closes at once: a read-only store has no checkpoint thread to wait for. */
  [Symbol.dispose](): void {
    void this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new RuntimeClosedError(action, 'inspector');
  }

  async #read<T>(action: string, read: () => T | Promise<T>): Promise<T> {
    this.#assertOpen(action);
    try {
      return await read();
    } catch (error) {
      throw this.#shared && !(error instanceof OffthreadError)
        ? new StoreUnavailableError(this.#path, error, 'Check that the PostgreSQL server runs and accepts connections from this host.')
        : storeError(this.#path, error);
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
    throw new InvalidOptionError('options', 'expected { durability?, queue? }.');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new InvalidOptionError(key, `unknown option; openInspector takes ${OPTION_KEYS.join(', ')}.`);
  }
  const { durability = 'normal', queue } = options as InspectorOptions;
  if (queue !== undefined && (typeof queue !== 'string' || queue === '')) {
    throw new InvalidOptionError('queue', `expected a queue name (a non-empty string), got ${typeof queue === 'string' ? '""' : typeof queue}.`);
  }
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
