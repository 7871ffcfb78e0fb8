import type { Database, Statement } from 'better-sqlite3';
import { decodeValue, encodeColumn } from './codec.js';

/*
 * Cron schedules (the `schedules` table of migration 3). A schedule is a template for tasks:
 * the CronScheduler (src/scheduler/cron.ts) reads them all at start and writes one row per
 * change or tick, so a few statements suffice; they are prepared once, here, next to their
 * only user, as src/store/sql.ts does for the tasks table.
 */

/** A stored schedule. Times are epoch ms. */
export interface ScheduleRecord {
  name: string;
  /** The cron expression as given (seconds allowed). */
  cron: string;
  /** The task type each tick submits. */
  type: string;
  payload: unknown;
  /** Submit options for each task (JSON-safe: kept as JSON), or null. */
  options: object | null;
  /** Whether a tick may submit while the task of the previous tick is unfinished. */
  overlap: boolean;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastTaskId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What a tick changes. */
export interface ScheduleRun {
  lastRunAt: number | null;
  lastTaskId: string | null;
  nextRunAt: number | null;
  updatedAt: number;
}

/**
 * Where schedules are kept. Async like TaskStore, so another backend can arrive later; the
 * SQLite one is synchronous inside.
 */
export interface ScheduleStore {
  /** Inserts, or replaces the schedule of that name (its createdAt is kept). */
  save(record: ScheduleRecord): Promise<void>;
  /** Whether a schedule of that name existed. */
  remove(name: string): Promise<boolean>;
  get(name: string): Promise<ScheduleRecord | undefined>;
  /** By name. */
  list(): Promise<ScheduleRecord[]>;
  /** Records a tick; a schedule removed meanwhile is left removed. */
  markRun(name: string, run: ScheduleRun): Promise<void>;
}

/** A schedule row as a store reads it (SQLite keeps `overlap` as 0 or 1, PostgreSQL as a boolean). */
export interface ScheduleRow {
  name: string;
  cron: string;
  type: string;
  payload: Buffer | null;
  options: string | null;
  overlap: number | boolean;
  next_run_at: number | null;
  last_run_at: number | null;
  last_task_id: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'name, cron, type, payload, options, overlap, next_run_at, last_run_at, last_task_id, created_at, updated_at';

type SaveArgs = [string, string, string, Buffer | null, string | null, number, number | null, number | null, string | null, number, number];

export class SqliteScheduleStore implements ScheduleStore {
  readonly #save: Statement<SaveArgs>;
  readonly #remove: Statement<[string]>;
  readonly #get: Statement<[string], ScheduleRow>;
  readonly #list: Statement<[], ScheduleRow>;
  readonly #markRun: Statement<[number | null, string | null, number | null, number, string]>;

  /** `db` must be migrated (migration 3 or later); the caller owns it and closes it. */
  constructor(db: Database) {
    this.#save = db.prepare(
      `INSERT INTO schedules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         cron = excluded.cron, type = excluded.type, payload = excluded.payload,
         options = excluded.options, overlap = excluded.overlap, next_run_at = excluded.next_run_at,
         last_run_at = excluded.last_run_at, last_task_id = excluded.last_task_id,
         updated_at = excluded.updated_at`,
    );
    this.#remove = db.prepare('DELETE FROM schedules WHERE name = ?');
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM schedules WHERE name = ?`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM schedules ORDER BY name`);
    this.#markRun = db.prepare(
      'UPDATE schedules SET last_run_at = ?, last_task_id = ?, next_run_at = ?, updated_at = ? WHERE name = ?',
    );
  }

  async save(r: ScheduleRecord): Promise<void> {
    // Encoded before the write: a payload that cannot be cloned throws NotCloneableError
    // (ERR_NOT_CLONEABLE) and nothing is stored.
    this.#save.run(
      r.name,
      r.cron,
      r.type,
      encodeColumn(r.payload, 'payload'),
      r.options === null ? null : JSON.stringify(r.options),
      r.overlap ? 1 : 0,
      r.nextRunAt,
      r.lastRunAt,
      r.lastTaskId,
      r.createdAt,
      r.updatedAt,
    );
  }

  async remove(name: string): Promise<boolean> {
    return this.#remove.run(name).changes > 0;
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const row = this.#get.get(name);
    return row && rowToRecord(row);
  }

  async list(): Promise<ScheduleRecord[]> {
    return this.#list.all().map(rowToRecord);
  }

  async markRun(name: string, run: ScheduleRun): Promise<void> {
    this.#markRun.run(run.lastRunAt, run.lastTaskId, run.nextRunAt, run.updatedAt, name);
  }
}

export function rowToRecord(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    cron: row.cron,
    type: row.type,
    payload: decodeValue(row.payload),
    options: row.options === null ? null : (JSON.parse(row.options) as object),
    overlap: row.overlap === true || row.overlap === 1,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
    lastTaskId: row.last_task_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
