import type { Database, Statement } from 'better-sqlite3';
import type { TaskPatch } from './task-store.js';

/*
 * Every SQL string the SQLite store runs lives here, one statement per operation
 * (graphile-worker's src/sql/ pattern). Statements are prepared once; the few whose shape
 * depends on the call (which columns a patch sets, which filters a list uses) are built from a
 * closed set of pieces, never from values, and cached by shape.
 */

/**
 * A row as SELECTed, in better-sqlite3's raw mode: an array in COLUMNS order. Building an
 * object of 25 named properties per row made reading 300k rows 1.7 s against 0.9 s as arrays,
 * most of what a reopen of many queued tasks waits for.
 */
export type TaskRow = [
  seq: number,
  id: string,
  type: string,
  name: string | null,
  description: string | null,
  priority: number,
  status: string,
  progress: number,
  progressMessage: string | null,
  payload: Buffer | null,
  result: Buffer | null,
  error: string | null,
  attempts: number,
  createdAt: number,
  startedAt: number | null,
  completedAt: number | null,
  updatedAt: number,
  runAt: number | null,
  timeoutMs: number | null,
  retries: number,
  backoff: string | null,
  key: string | null,
  dependsOn: string | null,
  onParentFailure: string | null,
  checkpoint: Buffer | null,
];

const COLUMNS =
  'seq, id, type, name, description, priority, status, progress, progress_message, payload, ' +
  'result, error, attempts, created_at, started_at, completed_at, updated_at, run_at, timeout_ms, retries, backoff, key, depends_on, on_parent_failure, checkpoint';

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
] as const satisfies readonly (readonly [keyof TaskPatch, string])[];

export interface Statements {
  /** (seq, id, type, name, description, priority, payload, created_at, updated_at, run_at, timeout_ms, retries, backoff, key, depends_on, on_parent_failure) */
  insert: Statement<
    [
      number, string, string, string | null, string | null, number, Buffer | null, number, number,
      number | null, number | null, number, string | null, string | null, string | null, string | null,
    ]
  >;
  /** The insert's 16 parameters, then (status, progress, progress_message, result, error, attempts, started_at, completed_at, checkpoint). */
  insertChanged: Statement<unknown[]>;
  get: Statement<[string], TaskRow>;
  countByStatus: Statement<[], { status: string; n: number }>;
  /** (cutoff, status, status, status): unused status slots are bound to NULL, which matches nothing. */
  cleanup: Statement<[number, string | null, string | null, string | null]>;
  /** (cutoff, status, limit) */
  sweep: Statement<[string, number, number]>;
  /** (status) -> completed_at, or undefined when there is no such row */
  oldestFinished: Statement<[string], number>;
  requeueRunning: Statement<[number]>;
  unfinished: Statement<[], TaskRow>;
  maxSeq: Statement<[], number | null>;
}

export function prepareStatements(db: Database): Statements {
  return {
    insert: db.prepare(
      // better-sqlite3 has no numbered (?NNN) parameters, so created_at is bound twice.
      `INSERT INTO tasks (seq, id, type, name, description, priority, payload, created_at, updated_at,
                          run_at, timeout_ms, retries, backoff, key, depends_on, on_parent_failure,
                          status, progress, attempts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0)`,
    ),
    insertChanged: db.prepare(
      `INSERT INTO tasks (seq, id, type, name, description, priority, payload, created_at, updated_at,
                          run_at, timeout_ms, retries, backoff, key, depends_on, on_parent_failure,
                          status, progress, progress_message, result, error, attempts, started_at,
                          completed_at, checkpoint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare<[string], TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id = ?`).raw(true),
    countByStatus: db.prepare('SELECT status, count(*) AS n FROM tasks GROUP BY status'),
    // One range of the partial (status, completed_at) index per status (migration 4).
    cleanup: db.prepare('DELETE FROM tasks WHERE completed_at <= ? AND status IN (?, ?, ?)'),
    // Both walk the partial (status, completed_at) index of migration 4 oldest first and stop
    // after `limit` (or 1) rows; rows of other statuses are never stepped over.
    sweep: db.prepare(
      `DELETE FROM tasks WHERE seq IN
         (SELECT seq FROM tasks WHERE status = ? AND completed_at <= ? ORDER BY completed_at LIMIT ?)`,
    ),
    oldestFinished: db
      .prepare<[string], number>(
        'SELECT completed_at FROM tasks WHERE status = ? AND completed_at IS NOT NULL ORDER BY completed_at LIMIT 1',
      )
      .pluck(),
    requeueRunning: db.prepare("UPDATE tasks SET status = 'queued', updated_at = ? WHERE status = 'running'"),
    unfinished: db.prepare<[], TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE status IN ('queued', 'paused')`).raw(true),
    maxSeq: db.prepare<[], number | null>('SELECT max(seq) FROM tasks').pluck(),
  };
}

/** UPDATE setting the columns whose bits are in `shape`; parameters: the values in PATCH_FIELDS order, then the id. */
export function preparePatch(db: Database, shape: number): Statement<unknown[]> {
  const sets = PATCH_FIELDS.filter((_, i) => shape & (1 << i)).map(([, column]) => `${column} = ?`);
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

/** A list shape is the three filters' kinds as base-3 digits (status lowest). */
export function prepareList(db: Database, shape: number): Statement<unknown[], TaskRow> {
  const where: string[] = [];
  for (const column of LIST_FILTERS) {
    const kind = shape % 3;
    shape = Math.floor(shape / 3);
    if (kind === FILTER_ONE) where.push(`${column} = ?`);
    else if (kind === FILTER_MANY) where.push(`${column} IN (SELECT value FROM json_each(?))`);
  }
  return db
    .prepare<unknown[], TaskRow>(
      `SELECT ${COLUMNS} FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`,
    )
    .raw(true);
}
