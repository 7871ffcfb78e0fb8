import type { Database, Statement } from 'better-sqlite3';

/*
 * The SQL of the inspector. It reads the tables src/store/migrations.ts creates, through a
 * connection of its own, so it names its columns itself (rows come back as objects keyed by
 * column) rather than depending on the store's raw row layout. Statement shapes come from a
 * closed set of pieces, never from values.
 */

/** A tasks row, as the inspector SELECTs it. */
export interface TaskColumns {
  id: string;
  type: string;
  name: string | null;
  description: string | null;
  priority: number;
  status: string;
  progress: number;
  progress_message: string | null;
  payload: Buffer | null;
  result: Buffer | null;
  error: string | null;
  attempts: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  updated_at: number;
  run_at: number | null;
  timeout_ms: number | null;
  retries: number;
  backoff: string | null;
  key: string | null;
  depends_on: string | null;
  on_parent_failure: string | null;
}

/** A schedules row, without its bookkeeping times. */
export interface ScheduleColumns {
  name: string;
  cron: string;
  type: string;
  payload: Buffer | null;
  options: string | null;
  overlap: number;
  next_run_at: number | null;
  last_run_at: number | null;
  last_task_id: string | null;
}

const TASK_COLUMNS =
  'id, type, name, description, priority, status, progress, progress_message, payload, result, error, attempts, ' +
  'created_at, started_at, completed_at, updated_at, run_at, timeout_ms, retries, backoff, key, depends_on, on_parent_failure';

/** One task by its whole id (the UNIQUE index on id). */
export const GET_SQL = `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`;

/**
 * The first two tasks whose id lies in [lower, upper): a range of the UNIQUE index on id, so
 * at most two index entries are read, however many tasks there are. Two are enough to tell
 * "exactly one" from "more than one". The whole id, when it is a task's, sorts first.
 */
export const FIND_PREFIX_SQL = `SELECT ${TASK_COLUMNS} FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`;

/** The same with no upper bound, for a prefix that has none (see prefixRange). */
export const FIND_PREFIX_OPEN_SQL = `SELECT ${TASK_COLUMNS} FROM tasks WHERE id >= ? ORDER BY id LIMIT 2`;

export const COUNT_BY_STATUS_SQL = 'SELECT status, count(*) AS n FROM tasks GROUP BY status';

/**
 * (cutoff, status, status, status); unused status slots are bound to NULL, which matches
 * nothing. Walks the partial (status, completed_at) index, one range per status.
 */
export const CLEANUP_SQL = 'DELETE FROM tasks WHERE completed_at <= ? AND status IN (?, ?, ?)';

export const SCHEDULES_SQL =
  'SELECT name, cron, type, payload, options, overlap, next_run_at, last_run_at, last_task_id FROM schedules ORDER BY name';

/** The list filters, in shape order, with their columns. */
export const LIST_FILTERS = ['status', 'priority', 'type'] as const;

/** How one filter appears in a list shape (a base-3 digit; status lowest). */
export const FILTER_ABSENT = 0;
/** `column = ?`: lets the (status, created_at) index deliver rows already newest first. */
export const FILTER_ONE = 1;
/** `column IN json_each(?)`: any number of values, bound as one JSON array. */
export const FILTER_MANY = 2;

/** Parameters: one per present filter, in LIST_FILTERS order, then limit and offset. Newest first. */
export function listSql(shape: number): string {
  const where: string[] = [];
  for (const column of LIST_FILTERS) {
    const kind = shape % 3;
    shape = Math.floor(shape / 3);
    if (kind === FILTER_ONE) where.push(`${column} = ?`);
    else if (kind === FILTER_MANY) where.push(`${column} IN (SELECT value FROM json_each(?))`);
  }
  return `SELECT ${TASK_COLUMNS} FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`;
}

/** The read statements, prepared once per connection (list statements on first use, by shape). */
export class ReadStatements {
  readonly get: Statement<[string], TaskColumns>;
  readonly findPrefix: Statement<[string, string], TaskColumns>;
  readonly findPrefixOpen: Statement<[string], TaskColumns>;
  readonly countByStatus: Statement<[], { status: string; n: number }>;
  readonly schedules: Statement<[], ScheduleColumns>;
  readonly #db: Database;
  /** At most 27 shapes. */
  readonly #lists = new Map<number, Statement<unknown[], TaskColumns>>();

  constructor(db: Database) {
    this.#db = db;
    this.get = db.prepare(GET_SQL);
    this.findPrefix = db.prepare(FIND_PREFIX_SQL);
    this.findPrefixOpen = db.prepare(FIND_PREFIX_OPEN_SQL);
    this.countByStatus = db.prepare(COUNT_BY_STATUS_SQL);
    this.schedules = db.prepare(SCHEDULES_SQL);
  }

  list(shape: number): Statement<unknown[], TaskColumns> {
    let stmt = this.#lists.get(shape);
    if (stmt === undefined) {
      stmt = this.#db.prepare<unknown[], TaskColumns>(listSql(shape));
      this.#lists.set(shape, stmt);
    }
    return stmt;
  }
}
