import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { TurnBudget } from '../turns.js';
import {
  FINISHED_STATUSES,
  type Backoff,
  PRIORITIES,
  type CleanupOptions,
  type Priority,
  type ListFilter,
  type Task,
  type TaskStats,
  type TaskStatus,
} from '../types.js';
import { SqliteScheduleStore, type ScheduleStore } from './schedule-store.js';
import { decodeError, decodeValue, encodeColumn, encodeError, withCheckpoint } from './codec.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { patchColumnValue, rank, statsOf } from './columns.js';
import { idPrefixRange } from './id-prefix.js';
import { openDatabase, type SqliteStoreOptions } from './open-database.js';
import type { OwnerLock } from './owner-lock.js';
import {
  ARG,
  COL,
  FILTER_MANY,
  FILTER_ONE,
  LIST_BEFORE,
  LIST_CREATED_BEFORE,
  LIST_FILTERS,
  PATCH_FIELDS,
  prepareList,
  preparePatch,
  prepareSearch,
  prepareStatements,
  param,
  type InsertChangedParams,
  type InsertParams,
  type SearchStatements,
  type ShelvedFiles,
  type Statements,
  type TaskRow,
} from './sql.js';
import type { FinishedStatus, NewTaskRecord, RecoveredState, SearchSlice, StoredTask, StoreListFilter, TaskPatch, TaskStore, TextSearch, WriteBatch } from './task-store.js';
import type { ClaimRequest, ControlAnswer, ControlRequest, QueueFeed } from './task-claims.js';
import { diskError, onDisk } from './disk-errors.js';
import { committed } from './crash-switch.js';
import { SqliteUnfinishedRows, storedFields } from './unfinished-rows.js';
import { DEFAULT_FILE_MODE } from './file-mode.js';
import { payloadName, resultIdOf, resultName, SHELF_MIN_BYTES, shelfFor, type PayloadShelf, type ShelfItem } from './payload-shelf.js';

export type { Durability, SqliteStoreOptions } from './open-database.js';

const DEFAULT_LIST_LIMIT = 100;
/** Rows written between two checkpoints of a file store's WAL: a few hundred pages. */
const CHECKPOINT_ROWS = 2000;
/** A batch this small is written in one go (~0.5-1 ms); a larger one a slice per turn. */
const SMALL_BATCH = 250;

/** A statement and its parameters (InsertParams or InsertChangedParams, as made by #insertWork). */
type InsertWork = [Statement<unknown[]>, unknown[]];
type PatchWork = [Statement<unknown[]>, unknown[]];

/** What a batch does beside its rows: the large payloads it writes first, the ones it replaces (removed after). */
interface ShelfWork {
  put: ShelfItem[];
  replaced: string[];
}

/** The SQLite TaskStore (better-sqlite3). Synchronous inside; async only to fit the interface. */
export class SqliteTaskStore implements TaskStore {
  readonly #db: Database.Database;
  readonly #lock: OwnerLock | undefined;
  #checkpointer: Checkpointer | undefined;
  #rowsSinceCheckpoint = 0;
  readonly #stmts: Statements;
  /** List statements by shape (see prepareList); at most 27. */
  readonly #lists = new Map<number, Statement<unknown[], TaskRow>>();
  /** Search statements by list shape and id mode (see prepareSearch); prepared on first use. */
  readonly #searches = new Map<number, SearchStatements>();
  /** Patch statements by shape (bitmask over PATCH_FIELDS); at most 2^10, a handful in practice. */
  readonly #patches = new Map<number, Statement<unknown[]>>();
  readonly #apply: (inserts: InsertWork[], patches: PatchWork[]) => void;
  readonly #recover: (now: number) => number | null;
  /** Where large payloads are kept, beside the rows that name them. */
  readonly #shelf: PayloadShelf;
  /** A row as a Task, its payload read from the shelf when it is kept there. */
  readonly #toTask = (row: TaskRow): Task => rowToTask(row, this.#shelf);

  /**
   * Opens (creating and migrating) a database. Read-write on a file, the store owns it until
   * close(): another read-write open throws StoreLockedError (ERR_STORE_LOCKED); read-only
   * opens are never refused. Also throws StoreUnavailableError, StoreCorruptError,
   * StoreVersionError and, for a bad `durability`, InvalidOptionError; none changes the file.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteTaskStore {
    const { db, lock } = openDatabase(path, options);
    try {
      const shelf = shelfFor(path, options.durability ?? 'normal', options.fileMode ?? DEFAULT_FILE_MODE);
      const store = new SqliteTaskStore(db, lock, path, shelf);
      // The owner removes what a crash left on the shelf, before anything is written: payloads
      // written for a batch that never committed, or replaced ones whose removal was lost.
      if (lock !== undefined) store.#sweepShelf();
      // Only a file written by this store has a WAL to checkpoint (lock: read-write, on a file).
      if (lock !== undefined && options.checkpointThread !== false) store.#checkpointer = startCheckpointer(db, path);
      return store;
    } catch (error) {
      db.close();
      lock?.release();
      throw error;
    }
  }

  /** Cron schedules live in the same file, written through the same connection. */
  readonly schedules: ScheduleStore;

  /** The file as the user named it, for messages. */
  readonly #path: string;

  private constructor(db: Database.Database, lock: OwnerLock | undefined, path: string, shelf: PayloadShelf) {
    this.#db = db;
    this.#path = path;
    this.#shelf = shelf;
    this.schedules = new SqliteScheduleStore(db);
    this.#lock = lock;
    this.#stmts = prepareStatements(db);
    const { requeueRunning, maxSeq } = this.#stmts;
    this.#apply = db.transaction((inserts: InsertWork[], patches: PatchWork[]) => {
      for (const [stmt, args] of inserts) stmt.run(...args);
      // A patch for a row that is gone (removed by cleanup) changes nothing; failing the
      // whole batch for it would lose the other rows' writes.
      for (const [stmt, args] of patches) stmt.run(...args);
    });
    this.#recover = db.transaction((now: number) => {
      requeueRunning.run(now);
      return maxSeq.get() ?? null;
    });
  }

  /** Throws StoreFullError (ERR_STORE_FULL) or StoreIOError (ERR_STORE_IO) for a disk that failed it, never the driver's error. */
  async commit(batch: WriteBatch): Promise<void> {
    try {
      await this.#commit(batch);
    } catch (error) {
      throw diskError(this.#path, error);
    }
  }

  async #commit(batch: WriteBatch): Promise<void> {
    const size = batch.inserts.length + batch.patches.size;
    if (size === 0) return;
    if (size <= SMALL_BATCH) {
      // Encode everything first: a payload that cannot be cloned fails the batch before the
      // write lock is taken, and the transaction stays as short as the SQL.
      const { inserts, payloads, changes } = batch;
      const shelf: ShelfWork = { put: [], replaced: [] };
      const work: InsertWork[] = [];
      for (let i = 0; i < inserts.length; i++) work.push(this.#insertWork(inserts[i]!, payloads[i], changes[i], shelf));
      const patches: PatchWork[] = [];
      for (const [id, patch] of batch.patches) patches.push(this.#patchWork(id, patch, shelf));
      // Large payloads first, so no committed row names one that is not there.
      if (shelf.put.length > 0) await this.#shelf.put(shelf.put);
      this.#applyNaming(shelf, () => {
        // One statement commits by itself (SQLite's autocommit): no BEGIN and COMMIT around
        // it, which were two of the three statements of a lone task's each commit.
        const only = work.length + patches.length === 1 ? (work[0] ?? patches[0]!) : undefined;
        if (only === undefined) this.#apply(work, patches);
        else only[0].run(...only[1]);
      });
      committed('tasks');
      this.#wrote(size);
      return;
    }
    // A large batch (a submitMany of 100k, or the finishes that piled up behind one) is still
    // one transaction, all or nothing, but encoded and written a slice per turn of the event
    // loop, so the main thread is never held for all of it. The write batcher sends nothing
    // else until this resolves; reads wait for it too.
    const db = this.#db;
    const budget = new TurnBudget();
    const shelf: ShelfWork = { put: [], replaced: [] };
    db.exec('BEGIN IMMEDIATE');
    try {
      const { inserts, payloads, changes } = batch;
      for (let i = 0; i < inserts.length; i++) {
        const [stmt, args] = this.#insertWork(inserts[i]!, payloads[i], changes[i], shelf);
        stmt.run(...args);
        if (budget.spent()) await budget.nextTurn();
      }
      for (const [id, patch] of batch.patches) {
        const [stmt, args] = this.#patchWork(id, patch, shelf);
        stmt.run(...args);
        if (budget.spent()) await budget.nextTurn();
      }
      if (shelf.put.length > 0) await this.#shelf.put(shelf.put);
      db.exec('COMMIT');
      this.#shelfCommitted(shelf);
      committed('tasks');
      this.#wrote(size);
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      this.#shelfFailed(shelf);
      throw error;
    }
  }

  /** The task with its checkpoint, if it has one (list() leaves it out: see LIST_COLUMNS). */
  async get(id: string): Promise<Task | undefined> {
    const row = this.#stmts.get.get(id);
    return row && withCheckpoint(this.#toTask(row), row[COL.checkpoint]);
  }

  /**
   * At most `limit` tasks whose id starts with `prefix`, by id (so the whole id, if there is
   * a task with it, comes first): `limit` entries of the id index read, however many rows.
   */
  async findByPrefix(prefix: string, limit = 2): Promise<Task[]> {
    const [lower, upper] = idPrefixRange(prefix);
    const rows = upper === undefined ? this.#stmts.findPrefixOpen.all(lower, limit) : this.#stmts.findPrefix.all(lower, upper, limit);
    return rows.map((row) => withCheckpoint(this.#toTask(row), row[COL.checkpoint]));
  }

  async list(filter: StoreListFilter): Promise<Task[]> {
    const { shape, args } = listShape(filter);
    args.push(filter.limit ?? DEFAULT_LIST_LIMIT, filter.offset ?? 0);
    let stmt = this.#lists.get(shape);
    if (stmt === undefined) {
      stmt = prepareList(this.#db, shape);
      this.#lists.set(shape, stmt);
    }
    return stmt.all(...args).map(this.#toTask);
  }

  /**
   * At most four reads, each bounded by `scan` rows of an index: the matches of the slice
   * (only seq, id and name read per row), then where the slice ends and how many rows were read.
   */
  async search(filter: ListFilter, search: TextSearch): Promise<SearchSlice> {
    const { shape, args } = listShape(filter);
    const key = shape * 2 + (search.ids === 'match' ? 1 : 0);
    let stmts = this.#searches.get(key);
    if (stmts === undefined) {
      stmts = prepareSearch(this.#db, shape, search.ids);
      this.#searches.set(key, stmts);
    }
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const scan = Math.max(1, Math.floor(search.scan));
    const rows = stmts.matches.all(...args, scan, search.text, [...search.text].length, search.text, limit);
    const tasks = rows.map(this.#toTask);
    if (rows.length === limit) {
      const lastRow = rows[rows.length - 1]!;
      return { tasks, scanned: stmts.upTo.get(...args, lastRow[COL.created_at], lastRow[COL.seq])!, last: lastRow[COL.id] };
    }
    const [end, after] = stmts.edge.all(...args, scan - 1);
    if (end !== undefined) return { tasks, scanned: scan, last: after === undefined ? null : end };
    return { tasks, scanned: stmts.size.get(...args, scan)!, last: null };
  }

  async stats(): Promise<TaskStats> {
    return statsOf(this.#stmts.countByStatus.all());
  }

  async cleanup(options: Required<CleanupOptions>, now: number): Promise<number> {
    // Never an unfinished task, whatever the caller passed: its worker may still write to it.
    const statuses = FINISHED_STATUSES.filter((s) => options.statuses.includes(s));
    if (statuses.length === 0) return 0;
    const [a = null, b = null, c = null] = statuses;
    const files = onDisk(this.#path, () => this.#stmts.cleanup.all(now - options.olderThanMs, a, b, c));
    committed('cleanup');
    await this.#removedRows(files);
    return files.length;
  }

  async sweep(status: FinishedStatus, cutoff: number, limit: number): Promise<number> {
    // Guarded at run time too: an unfinished row may still be written by its worker. And a
    // LIMIT below 0 means "no limit" to SQLite, which would turn a batch into the whole table.
    if (!FINISHED_STATUSES.includes(status) || !(limit >= 1)) return 0;
    const files = onDisk(this.#path, () => this.#stmts.sweep.all(status, cutoff, Math.floor(limit)));
    committed('sweep');
    await this.#removedRows(files);
    return files.length;
  }

  async oldestFinished(status: FinishedStatus): Promise<number | null> {
    if (!FINISHED_STATUSES.includes(status)) return null;
    return this.#stmts.oldestFinished.get(status) ?? null;
  }

  /** One runtime owns the file (the owner lock): it holds every unfinished task. */
  readonly sharing = 'exclusive';

  async recover(now: number): Promise<RecoveredState> {
    const maxSeq = onDisk(this.#path, () => this.#recover(now));
    committed('recovery');
    // Nothing is read yet: the owner reads the rows in the order it runs them, a page at a
    // time, so the most urgent start while the rest of a large queue is read.
    const nextSeq = (maxSeq ?? 0) + 1;
    return { unfinished: new SqliteUnfinishedRows(this.#stmts, nextSeq, (row) => storedFields(this.#toTask(row) as StoredTask, row)), nextSeq };
  }

  /** Nothing to claim: the owner holds every task from its submit (or its recovery) on. */
  async claim(_request: ClaimRequest): Promise<StoredTask[]> {
    return [];
  }

  /** The owner lock is the lease, held until close: nothing to renew. */
  async renew(ids: readonly string[], _leaseUntil: number): Promise<string[]> {
    return [...ids];
  }

  /** No other host could claim what this one hands back: nothing to release. */
  async release(_ids: readonly string[]): Promise<void> {}

  /** No leases: nothing lapses. */
  async reclaimLapsed(_now: number): Promise<number> {
    return 0;
  }

  /** The owner keeps its own timers for the delayed tasks it holds: none are due elsewhere. */
  async nextDue(_types: readonly string[], _now: number): Promise<number | null> {
    return null;
  }

  /** Every change comes from the owner itself: there is nothing to tell it. */
  async listen(_feed: QueueFeed): Promise<() => void> {
    return () => {};
  }

  /** Never asked: the owner dedupes keys itself, since it holds every unfinished task. */
  async insertKeyed(_record: NewTaskRecord, _payload: unknown): Promise<string> {
    throw new Error('an exclusive store is not asked to insert a keyed task: its owner dedupes keys');
  }

  /** The owner holds every unfinished task, so a task it does not hold is finished or unknown. */
  async control(id: string, _request: ControlRequest): Promise<ControlAnswer> {
    const row = this.#stmts.get.get(id);
    if (row === undefined) return { kind: 'unknown' };
    return { kind: 'unchanged', status: row[COL.status] as TaskStatus };
  }

  /**
   * Counts rows written; every CHECKPOINT_ROWS the checkpoint thread is nudged. A checkpoint
   * per commit would sync the disk twice per commit; this keeps about SQLite's own pace
   * (1000 pages), only off the main thread.
   */
  #wrote(rows: number): void {
    if (this.#checkpointer === undefined) return;
    this.#rowsSinceCheckpoint += rows;
    if (this.#rowsSinceCheckpoint < CHECKPOINT_ROWS) return;
    this.#rowsSinceCheckpoint = 0;
    this.#checkpointer.nudge();
  }

  /** Resolves once no WAL checkpoint is under way (for tests: they wait on events, not time). */
  checkpointsSettled(): Promise<void> {
    return this.#checkpointer?.idle() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    // The checkpoint thread first (its connection closed), then the database: its last
    // checkpoint still writes, and must be done while we own the file.
    await this.#checkpointer?.close();
    if (this.#db.open) this.#db.close();
    this.#lock?.release();
  }

  /** A new row, with the changes made to it before it was written, if any (see WriteBatch). */
  #insertWork(record: NewTaskRecord, storedPayload: unknown, changes: TaskPatch | undefined, shelf: ShelfWork): InsertWork {
    const bytes = encodeColumn(storedPayload, 'payload');
    const file = this.#shelved(record.seq, true, bytes, shelf);
    const row = insertParams(record, file === null ? bytes : null, file);
    if (changes === undefined) return [this.#stmts.insert, row];
    const result = encodeColumn(changes.result, 'result');
    const resultFile = this.#shelvedResult(record.id, result, shelf);
    const params: InsertChangedParams = [
      ...row,
      param('status', changes.status ?? 'queued'),
      param('progress', changes.progress ?? 0),
      param('progress_message', changes.progressMessage ?? null),
      param('result', resultFile === null ? result : null), // absent or undefined: NULL, as a patch writes it
      param('error', encodeError(changes.error)),
      param('attempts', changes.attempts ?? 0),
      param('started_at', changes.startedAt ?? null),
      param('completed_at', changes.completedAt ?? null),
      param('checkpoint', encodeColumn(changes.checkpoint, 'result')),
      param('result_file', resultFile),
    ];
    if (changes.priority !== undefined) params[ARG.priority] = param('priority', rank(changes.priority));
    if (changes.updatedAt !== undefined) params[ARG.updated_at] = param('updated_at', changes.updatedAt);
    if ('runAt' in changes) params[ARG.run_at] = param('run_at', changes.runAt ?? null);
    return [this.#stmts.insertChanged, params];
  }

  /**
   * A key is present when its value is not undefined, except `result`, where the key alone
   * counts: undefined is a result a handler may return (stored as NULL, read as null).
   */
  #patchWork(id: string, patch: TaskPatch, shelf: ShelfWork): PatchWork {
    let shape = 0;
    const args: unknown[] = [];
    for (let i = 0; i < PATCH_FIELDS.length; i++) {
      const key = PATCH_FIELDS[i]![0];
      const value = patch[key];
      if (value === undefined && !(key === 'result' && 'result' in patch)) continue;
      shape |= 1 << i;
      if (key === 'payload') args.push(...this.#patchedPayload(id, value, shelf));
      else if (key === 'result') args.push(...this.#patchedResult(id, value, shelf));
      else args.push(patchColumnValue(key, value));
    }
    args.push(id);
    let stmt = this.#patches.get(shape);
    if (stmt === undefined) {
      stmt = preparePatch(this.#db, shape);
      this.#patches.set(shape, stmt);
    }
    return [stmt, args];
  }

  /**
   * A new payload for a row (a debounced submit): the payload column's value and the row's
   * payload_file (a shelved payload's name, else NULL); the old file is removed after the
   * commit.
   */
  #patchedPayload(id: string, payload: unknown, shelf: ShelfWork): [Buffer | null, string | null] {
    const bytes = encodeColumn(payload, 'payload');
    const row = this.#stmts.payloadFileOf.get(id);
    if (row === undefined) return [bytes, null]; // gone (cleanup): the patch changes nothing
    const file = this.#shelved(row.seq, false, bytes, shelf);
    if (row.payload_file !== null) shelf.replaced.push(row.payload_file);
    return [file === null ? bytes : null, file];
  }

  /** A task's result: the result column's value and the row's result_file (a shelved result's name, else NULL). */
  #patchedResult(id: string, result: unknown, shelf: ShelfWork): [Buffer | null, string | null] {
    const bytes = encodeColumn(result, 'result');
    const file = this.#shelvedResult(id, bytes, shelf);
    return [file === null ? bytes : null, file];
  }

  /** The name a result this large is shelved under (its write added to `shelf`), or null: it stays in the row. */
  #shelvedResult(id: string, bytes: Buffer | null, shelf: ShelfWork): string | null {
    if (bytes === null || bytes.byteLength < SHELF_MIN_BYTES) return null;
    const name = resultName(id);
    if (name === undefined) return null;
    shelf.put.push([name, bytes]);
    return name;
  }

  /** The name a payload this large is shelved under (its write added to `shelf`), or null: it stays in the row. */
  #shelved(seq: number, first: boolean, bytes: Buffer | null, shelf: ShelfWork): string | null {
    if (bytes === null || bytes.byteLength < SHELF_MIN_BYTES) return null;
    const name = payloadName(seq, first);
    shelf.put.push([name, bytes]);
    return name;
  }

  /** Runs a batch's transaction, then tidies the shelf after it (see #shelfCommitted, #shelfFailed). */
  #applyNaming(shelf: ShelfWork, apply: () => void): void {
    try {
      apply();
    } catch (error) {
      this.#shelfFailed(shelf);
      throw error;
    }
    this.#shelfCommitted(shelf);
  }

  /**
   * A batch committed: the payloads its rows no longer name are removed. Not waited for: the
   * commit is what callers wait on, and a file left is swept at the next open.
   */
  #shelfCommitted(shelf: ShelfWork): void {
    if (shelf.replaced.length > 0) void this.#shelf.remove(shelf.replaced);
  }

  /** A batch failed: what it wrote on the shelf is removed (written again with the batch). */
  #shelfFailed(shelf: ShelfWork): void {
    if (shelf.put.length > 0) void this.#shelf.remove(shelf.put.map(([name]) => name));
  }

  /** Rows were removed (cleanup, retention): so are the payloads they named. */
  async #removedRows(rows: readonly ShelvedFiles[]): Promise<void> {
    this.#wrote(rows.length);
    const named: string[] = [];
    for (const { payload_file, result_file } of rows) {
      if (payload_file !== null) named.push(payload_file);
      if (result_file !== null) named.push(result_file);
    }
    if (named.length > 0) await this.#shelf.remove(named);
  }

  /** Removes from the shelf what no row names (see open). */
  #sweepShelf(): void {
    const { payloadFileBySeq, resultFileOf } = this.#stmts;
    this.#shelf.sweep((name) => {
      const resultOf = resultIdOf(name);
      if (resultOf === undefined) return payloadFileBySeq.get(Number.parseInt(name, 10)) === name;
      return resultFileOf.get(resultOf) === name;
    });
  }
}

/** A list's shape (see prepareList) and its parameters but LIMIT and OFFSET. */
function listShape(filter: StoreListFilter): { shape: number; args: unknown[] } {
  let shape = 0;
  const args: unknown[] = [];
  for (let i = 0, digit = 1; i < LIST_FILTERS.length; i++, digit *= 3) {
    const key = LIST_FILTERS[i]!;
    const value = filter[key];
    if (value === undefined) continue;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    const bound = key === 'priority' ? values.map((p) => rank(p as Priority)) : values;
    if (bound.length === 1) {
      shape += FILTER_ONE * digit;
      args.push(bound[0]);
    } else {
      shape += FILTER_MANY * digit;
      args.push(JSON.stringify(bound));
    }
  }
  if (filter.before !== undefined) {
    shape += LIST_BEFORE;
    args.push(filter.before);
  } else if (filter.createdBefore !== undefined) {
    shape += LIST_CREATED_BEFORE;
    args.push(filter.createdBefore);
  }
  return { shape, args };
}

/** The INSERT parameters of a new row (each placed by its column's name: see InsertParams). */
function insertParams(r: NewTaskRecord, payload: Buffer | null, payloadFile: string | null): InsertParams {
  return [
    param('seq', r.seq),
    param('id', r.id),
    param('type', r.type),
    param('name', r.name),
    param('description', r.description),
    param('priority', rank(r.priority)),
    param('payload', payload),
    param('created_at', r.createdAt),
    param('updated_at', r.createdAt),
    param('run_at', r.runAt),
    param('timeout_ms', r.timeoutMs),
    param('retries', r.retries),
    param('backoff', r.backoff === null ? null : JSON.stringify(r.backoff)),
    param('key', r.key),
    param('depends_on', r.dependsOn.length === 0 ? null : JSON.stringify(r.dependsOn)),
    param('on_parent_failure', r.onParentFailure),
    param('group_name', r.group),
    param('payload_file', payloadFile),
  ];
}

/** A row as a Task, each column read by name (see COL); a shelved payload read from `shelf`. */
function rowToTask(row: TaskRow, shelf: PayloadShelf): Task {
  const file = row[COL.payload_file];
  const resultFile = row[COL.result_file];
  const result = decodeValue(resultFile === null ? row[COL.result] : shelf.read(resultFile));
  const backoff = row[COL.backoff];
  const dependsOn = row[COL.depends_on];
  return {
    id: row[COL.id],
    type: row[COL.type],
    name: row[COL.name],
    description: row[COL.description],
    priority: PRIORITIES[row[COL.priority]] as Priority,
    status: row[COL.status] as TaskStatus,
    progress: row[COL.progress],
    progressMessage: row[COL.progress_message],
    payload: decodeValue(file === null ? row[COL.payload] : shelf.read(file)),
    result: result === undefined ? null : result,
    error: decodeError(row[COL.error]),
    attempts: row[COL.attempts],
    createdAt: row[COL.created_at],
    startedAt: row[COL.started_at],
    completedAt: row[COL.completed_at],
    updatedAt: row[COL.updated_at],
    runAt: row[COL.run_at],
    timeoutMs: row[COL.timeout_ms],
    retries: row[COL.retries],
    backoff: backoff === null ? null : (JSON.parse(backoff) as Backoff),
    key: row[COL.key],
    dependsOn: dependsOn === null ? [] : (JSON.parse(dependsOn) as string[]),
    onParentFailure: (row[COL.on_parent_failure] ?? 'cancel') as 'cancel' | 'run',
    group: row[COL.group_name],
  };
}
