import type { Database, Statement } from 'better-sqlite3';
import type { TaskPatch } from './task-store.js';

/*
 * Every SQL string the SQLite store runs lives here, one statement per operation
 * (graphile-worker's src/sql/ pattern). Statements are prepared once; the few whose shape
 * depends on the call (which columns a patch sets, which filters a list uses) are built from a
 * closed set of pieces, never from values, and cached by shape.
 */

/**
 * The columns of `tasks`, in the order a SELECT returns them: the one list the SELECTs,
 * the index of each column in a row (COL) and the row's type (TaskRow) are made from.
 */
export const TASK_COLUMNS = [
  'seq',
  'id',
  'type',
  'name',
  'description',
  'priority',
  'status',
  'progress',
  'progress_message',
  'payload',
  'result',
  'error',
  'attempts',
  'created_at',
  'started_at',
  'completed_at',
  'updated_at',
  'run_at',
  'timeout_ms',
  'retries',
  'backoff',
  'key',
  'depends_on',
  'on_parent_failure',
  'checkpoint',
  'group_name',
] as const;

export type TaskColumn = (typeof TASK_COLUMNS)[number];

/**
 * The SQLite store's columns: the shared ones (the PostgreSQL store has them too), then the
 * names of a payload and a result kept beside the database (./payload-shelf.ts), which only
 * it has.
 */
export const SQLITE_COLUMNS = [...TASK_COLUMNS, 'payload_file', 'result_file'] as const;

export type SqliteColumn = (typeof SQLITE_COLUMNS)[number];

export interface SqliteColumnTypes extends TaskColumnTypes {
  /** The name of the payload kept beside the database, the row's payload then NULL; NULL when it is in the row. */
  payload_file: string | null;
  /** The same for the result. */
  result_file: string | null;
}

/** What each column reads as (a compile-time check below keeps it to TASK_COLUMNS). */
export interface TaskColumnTypes {
  seq: number;
  id: string;
  type: string;
  name: string | null;
  description: string | null;
  /** The rank: an index into PRIORITIES. */
  priority: number;
  status: string;
  progress: number;
  progress_message: string | null;
  payload: Buffer | null;
  result: Buffer | null;
  /** JSON of a TaskError. */
  error: string | null;
  attempts: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  updated_at: number;
  run_at: number | null;
  timeout_ms: number | null;
  retries: number;
  /** JSON of a Backoff. */
  backoff: string | null;
  key: string | null;
  /** JSON array of task ids; NULL for none. */
  depends_on: string | null;
  /** NULL: the default, 'cancel'. */
  on_parent_failure: string | null;
  checkpoint: Buffer | null;
  group_name: string | null;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
/** Fails to compile when a column is added to one of the two and not the other. */
export type ColumnsTyped = Holds<Same<keyof TaskColumnTypes, TaskColumn>>;

/** Where each of `columns` sits in a row or a parameter list: `{ seq: 0, id: 1, ... }`, typed as those literals. */
type IndexOf<Columns extends readonly string[]> = {
  readonly [I in keyof Columns & `${number}` as Columns[I]]: I extends `${infer N extends number}` ? N : never;
};

function indexOf<const Columns extends readonly string[]>(columns: Columns): IndexOf<Columns> {
  return Object.freeze(Object.fromEntries(columns.map((column, i) => [column, i]))) as IndexOf<Columns>;
}

/**
 * A row as SELECTed, in better-sqlite3's raw mode: an array in TASK_COLUMNS order, read by
 * name as `row[COL.run_at]`. Raw rows, not objects: better-sqlite3 building an object of 25
 * named properties per row made reading 200k queued rows (what recover() does on a reopen)
 * about 1.7x as long; indexing through COL costs nothing measurable over literal indices.
 */
export type TaskRow = { readonly [C in SqliteColumn as IndexOf<typeof SQLITE_COLUMNS>[C]]: SqliteColumnTypes[C] };

/** Index of each column in a TaskRow. */
export const COL = indexOf(SQLITE_COLUMNS);

const COLUMNS = SQLITE_COLUMNS.join(', ');
/**
 * The columns of a list: a checkpoint reads as NULL there (only `get` shows it), so a page
 * of tasks never copies their checkpoints' bytes.
 */
export const LIST_COLUMNS = SQLITE_COLUMNS.map((column) => (column === 'checkpoint' ? 'NULL AS checkpoint' : column)).join(', ');

/**
 * The columns an INSERT sets, in parameter order. A new row is `queued`, progress 0,
 * attempts 0; a row that changed before it was written (see WriteBatch.changes) sets
 * CHANGED_COLUMNS as well.
 */
export const INSERT_COLUMNS = [
  'seq',
  'id',
  'type',
  'name',
  'description',
  'priority',
  'payload',
  'created_at',
  'updated_at',
  'run_at',
  'timeout_ms',
  'retries',
  'backoff',
  'key',
  'depends_on',
  'on_parent_failure',
  'group_name',
  'payload_file',
] as const satisfies readonly SqliteColumn[];

export const CHANGED_COLUMNS = [
  'status',
  'progress',
  'progress_message',
  'result',
  'error',
  'attempts',
  'started_at',
  'completed_at',
  'checkpoint',
  'result_file',
] as const satisfies readonly SqliteColumn[];

const INSERT_CHANGED_COLUMNS = [...INSERT_COLUMNS, ...CHANGED_COLUMNS] as const;

declare const COLUMN: unique symbol;

/**
 * An INSERT parameter as the type checker sees it: a value tagged with its column, so a
 * parameter list typed over a column list (InsertParams) takes each value at its own
 * column's place and nowhere else. At run time it is the value itself (see `param`).
 */
export type Param<C extends SqliteColumn> = { readonly [COLUMN]: C; readonly value: SqliteColumnTypes[C] };

/** The value for `column`'s place in a parameter list: `value` itself, typed for that place. */
export function param<C extends SqliteColumn>(column: C, value: SqliteColumnTypes[C]): Param<C> {
  return value as unknown as Param<C>;
}

type Params<Columns extends readonly SqliteColumn[]> = { -readonly [I in keyof Columns]: Param<Columns[I]> };

/**
 * The INSERT's parameters, in INSERT_COLUMNS order, each checked by name: written as an
 * array literal of `param('seq', ...)`, `param('id', ...)`... Positional (named parameters
 * cost ~10% more per row in better-sqlite3), and a literal (filling an array place by place
 * took twice as long as the literal).
 */
export type InsertParams = Params<typeof INSERT_COLUMNS>;
/** The parameters of an INSERT of a row that changed before it was written: INSERT_COLUMNS, then CHANGED_COLUMNS. */
export type InsertChangedParams = Params<typeof INSERT_CHANGED_COLUMNS>;

/** Where each parameter of both INSERTs sits, for changing one in place: `params[ARG.priority] = param('priority', ...)`. */
export const ARG = indexOf(INSERT_CHANGED_COLUMNS);

/** The patchable fields in a fixed order: bit i of a patch's shape is PATCH_FIELDS[i]. */
export const PATCH_FIELDS = [
  ['status', 'status'],
  ['priority', 'priority'],
  ['progress', 'progress'],
  ['progressMessage', 'progress_message'],
  ['result', 'result'],
  ['error', 'error'],
  ['attempts', 'attempts'],
  ['startedAt', 'started_at'],
  ['completedAt', 'completed_at'],
  ['updatedAt', 'updated_at'],
  ['runAt', 'run_at'],
  ['checkpoint', 'checkpoint'],
  ['payload', 'payload'],
] as const satisfies readonly (readonly [keyof TaskPatch, TaskColumn])[];

export const GET_SQL = `SELECT ${COLUMNS} FROM tasks WHERE id = ?`;
export const FIND_PREFIX_SQL = `SELECT ${COLUMNS} FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`;
export const FIND_PREFIX_OPEN_SQL = `SELECT ${COLUMNS} FROM tasks WHERE id >= ? ORDER BY id LIMIT ?`;

/** The condition of migration 6's partial index, word for word, so the planner uses it. */
const UNFINISHED = "WHERE status IN ('queued', 'paused')";

/** The files a removed row named on the shelf (./payload-shelf.ts), if any. */
export interface ShelvedFiles {
  payload_file: string | null;
  result_file: string | null;
}

export interface Statements {
  /** A new row. */
  insert: Statement<InsertParams>;
  /** A new row that changed before it was written. */
  insertChanged: Statement<InsertChangedParams>;
  get: Statement<[string], TaskRow>;
  /** (lower, upper, limit): at most `limit` tasks whose id is in [lower, upper), by id (see idPrefixRange). */
  findPrefix: Statement<[string, string, number], TaskRow>;
  /** (lower, limit): the same with no upper bound. */
  findPrefixOpen: Statement<[string, number], TaskRow>;
  countByStatus: Statement<[], { status: string; n: number }>;
  /** (cutoff, status, status, status) -> each removed row's shelved files: unused status slots are bound to NULL, which matches nothing. */
  cleanup: Statement<[number, string | null, string | null, string | null], ShelvedFiles>;
  /** (status, cutoff, limit) -> each removed row's shelved files */
  sweep: Statement<[string, number, number], ShelvedFiles>;
  /** (id) -> the row's seq and payload_file (null: the payload is in the row), or undefined when there is no such row */
  payloadFileOf: Statement<[string], { seq: number; payload_file: string | null }>;
  /** (seq) -> the row's payload_file, or undefined when there is no such row */
  payloadFileBySeq: Statement<[number], string | null>;
  /** (id) -> the row's result_file, or undefined when there is no such row */
  resultFileOf: Statement<[string], string | null>;
  /** (status) -> completed_at, or undefined when there is no such row */
  oldestFinished: Statement<[string], number>;
  requeueRunning: Statement<[number]>;
  /** (rank, fromSeq, beforeSeq, limit): unfinished rows of one priority by seq (migration 6's index). */
  unfinishedPage: Statement<[number, number, number, number], TaskRow>;
  /** (id, beforeSeq) */
  unfinishedById: Statement<[string, number], TaskRow>;
  /** (key, beforeSeq) */
  unfinishedByKey: Statement<[string, number], TaskRow>;
  maxSeq: Statement<[], number | null>;
}

export function prepareStatements(db: Database): Statements {
  return {
    // better-sqlite3 has no numbered (?NNN) parameters, so created_at is bound twice (as updated_at).
    insert: db.prepare<InsertParams>(
      `INSERT INTO tasks (${INSERT_COLUMNS.join(', ')}, status, progress, attempts)
       VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')}, 'queued', 0, 0)`,
    ),
    insertChanged: db.prepare<InsertChangedParams>(
      `INSERT INTO tasks (${INSERT_CHANGED_COLUMNS.join(', ')})
       VALUES (${INSERT_CHANGED_COLUMNS.map(() => '?').join(', ')})`,
    ),
    get: db.prepare<[string], TaskRow>(GET_SQL).raw(true),
    // Ranges of the id's unique index: at most two entries read, however many rows there are.
    findPrefix: db.prepare<[string, string, number], TaskRow>(FIND_PREFIX_SQL).raw(true),
    findPrefixOpen: db.prepare<[string, number], TaskRow>(FIND_PREFIX_OPEN_SQL).raw(true),
    countByStatus: db.prepare('SELECT status, count(*) AS n FROM tasks GROUP BY status'),
    // One range of the partial (status, completed_at) index per status (migration 4).
    // Each removed row's payload file, if it has one, is removed after the commit (./payload-shelf.ts).
    cleanup: db.prepare<[number, string | null, string | null, string | null], ShelvedFiles>(
      'DELETE FROM tasks WHERE completed_at <= ? AND status IN (?, ?, ?) RETURNING payload_file, result_file',
    ),
    // Both walk the partial (status, completed_at) index of migration 4 oldest first and stop
    // after `limit` (or 1) rows; rows of other statuses are never stepped over.
    sweep: db.prepare<[string, number, number], ShelvedFiles>(
      `DELETE FROM tasks WHERE seq IN
         (SELECT seq FROM tasks WHERE status = ? AND completed_at <= ? ORDER BY completed_at LIMIT ?)
       RETURNING payload_file, result_file`,
    ),
    payloadFileOf: db.prepare<[string], { seq: number; payload_file: string | null }>('SELECT seq, payload_file FROM tasks WHERE id = ?'),
    payloadFileBySeq: db.prepare<[number], string | null>('SELECT payload_file FROM tasks WHERE seq = ?').pluck(),
    resultFileOf: db.prepare<[string], string | null>('SELECT result_file FROM tasks WHERE id = ?').pluck(),
    oldestFinished: db
      .prepare<[string], number>(
        'SELECT completed_at FROM tasks WHERE status = ? AND completed_at IS NOT NULL ORDER BY completed_at LIMIT 1',
      )
      .pluck(),
    requeueRunning: db.prepare("UPDATE tasks SET status = 'queued', updated_at = ? WHERE status = 'running'"),
    unfinishedPage: db
      .prepare<[number, number, number, number], TaskRow>(
        `SELECT ${COLUMNS} FROM tasks ${UNFINISHED} AND priority = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    unfinishedById: db.prepare<[string, number], TaskRow>(`SELECT ${COLUMNS} FROM tasks ${UNFINISHED} AND id = ? AND seq < ?`).raw(true),
    unfinishedByKey: db.prepare<[string, number], TaskRow>(`SELECT ${COLUMNS} FROM tasks ${UNFINISHED} AND key = ? AND seq < ?`).raw(true),
    maxSeq: db.prepare<[], number | null>('SELECT max(seq) FROM tasks').pluck(),
  };
}

/**
 * The column that names a value kept beside the database (./payload-shelf.ts), set with it:
 * a payload's or result's patch binds the value (NULL when shelved), then the file's name.
 */
const SHELVED: Partial<Record<TaskColumn, SqliteColumn>> = { payload: 'payload_file', result: 'result_file' };

/** UPDATE setting the columns whose bits are in `shape`; parameters: the values in PATCH_FIELDS order (two for a payload or result: see SHELVED), then the id. */
export function preparePatch(db: Database, shape: number): Statement<unknown[]> {
  const sets = PATCH_FIELDS.filter((_, i) => shape & (1 << i)).map(([, column]) => (SHELVED[column] === undefined ? `${column} = ?` : `${column} = ?, ${SHELVED[column]} = ?`));
  return db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = ?`);
}

/** The list filters, in shape order. */
export const LIST_FILTERS = ['status', 'priority', 'type'] as const;

/** How one filter appears in a list shape. */
export const FILTER_ABSENT = 0;
/** `column = ?`: lets the (status, created_at) index deliver rows already newest first. */
export const FILTER_ONE = 1;
/** `column IN json_each(?)`: any number of values, bound as one JSON array. */
export const FILTER_MANY = 2;

/** In a list shape, above the filters' digits: the list starts after a given task (keyset). */
export const LIST_BEFORE = 3 ** LIST_FILTERS.length;
/** Instead of LIST_BEFORE: rows created before a time (a page after a task that is not stored). */
export const LIST_CREATED_BEFORE = 2 * LIST_BEFORE;

/**
 * A list shape is the three filters' kinds as base-3 digits (status lowest), plus
 * LIST_BEFORE for a page that starts after a task: its (created_at, seq) is the key, so
 * the index on created_at (which holds seq, the rowid) seeks there at any depth.
 */
export function prepareList(db: Database, shape: number): Statement<unknown[], TaskRow> {
  return db
    .prepare<unknown[], TaskRow>(
      `SELECT ${LIST_COLUMNS} FROM tasks ${whereOf(listConditions(shape))}
     ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`,
    )
    .raw(true);
}

/** The conditions of a list shape, in the order of its parameters. */
function listConditions(shape: number): string[] {
  const where: string[] = [];
  const cursor = Math.floor(shape / LIST_BEFORE);
  for (const column of LIST_FILTERS) {
    const kind = shape % 3;
    shape = Math.floor(shape / 3);
    if (kind === FILTER_ONE) where.push(`${column} = ?`);
    else if (kind === FILTER_MANY) where.push(`${column} IN (SELECT value FROM json_each(?))`);
  }
  if (cursor === 1) where.push('(created_at, seq) < (SELECT created_at, seq FROM tasks WHERE id = ?)');
  else if (cursor === 2) where.push('created_at < ?');
  return where;
}

function whereOf(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}

/**
 * The statements of a text search over a list shape (see TaskStore.search). Each takes the
 * list's parameters first. The slice is the list's first `scan` rows, read through the
 * same index as the list and only for (seq, id, name); the text is matched in SQL.
 */
export interface SearchStatements {
  /** (...list, scan, text, idLength, text, limit): the matching rows of the slice, newest first. */
  matches: Statement<unknown[], TaskRow>;
  /** (...list, offset): the ids of the row at `offset` and the one after it, if any. */
  edge: Statement<unknown[], string>;
  /** (...list, scan): how many rows the slice holds (fewer than `scan`: it reached the end). */
  size: Statement<unknown[], number>;
  /** (...list, createdAt, seq): how many rows of the list come up to that row, itself included. */
  upTo: Statement<unknown[], number>;
}

/**
 * `ids`: 'match', a row whose id starts with the text matches too; 'exclude', it does not
 * match at all (the caller listed those rows apart). Names compare lower-cased by SQLite's
 * lower(), which folds A-Z only.
 */
export function prepareSearch(db: Database, shape: number, ids: 'match' | 'exclude'): SearchStatements {
  const where = listConditions(shape);
  const order = 'ORDER BY created_at DESC, seq DESC';
  const name = 'instr(lower(name), ?) > 0';
  const match = ids === 'match' ? `(${name} OR substr(id, 1, ?) = ?)` : `${name} AND substr(id, 1, ?) <> ?`;
  return {
    matches: db
      .prepare<unknown[], TaskRow>(
        `SELECT ${LIST_COLUMNS} FROM tasks WHERE seq IN
           (SELECT seq FROM (SELECT seq, id, name FROM tasks ${whereOf(where)} ${order} LIMIT ?) WHERE ${match} LIMIT ?)
         ${order}`,
      )
      .raw(true),
    edge: db.prepare<unknown[], string>(`SELECT id FROM tasks ${whereOf(where)} ${order} LIMIT 2 OFFSET ?`).pluck(),
    size: db.prepare<unknown[], number>(`SELECT count(*) FROM (SELECT 1 FROM tasks ${whereOf(where)} ${order} LIMIT ?)`).pluck(),
    upTo: db.prepare<unknown[], number>(`SELECT count(*) FROM tasks ${whereOf([...where, '(created_at, seq) >= (?, ?)'])}`).pluck(),
  };
}
