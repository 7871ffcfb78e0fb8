import type { Database, Statement } from 'better-sqlite3';
import { decodeValue, encodeColumn } from './codec.js';
import { onDisk } from './disk-errors.js';
import { committed } from './crash-switch.js';

/*
 * Cron schedules (the `schedules` table of migration 3). A schedule is a template for tasks:
 * the CronScheduler (src/scheduler/cron.ts) reads them and writes one row per change or
 * tick, so a few statements suffice; they are prepared once, here, next to their only user,
 * as src/store/sql.ts does for the tasks table.
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

/**
 * What a host saw of a schedule when it found a tick due. Its claim of the tick holds only if
 * the stored schedule still has both: the same next time (no other host fired that tick) and
 * the same expression (the next time the claim writes was computed from it).
 */
export interface TickSeen {
  cron: string;
  nextRunAt: number;
}

/** What claiming a tick writes: the schedule's time moves on. */
export interface TickClaim {
  nextRunAt: number | null;
  updatedAt: number;
}

/** What a claimed tick's submit is recorded as, once the task is stored. */
export interface ScheduleRun {
  lastRunAt: number;
  lastTaskId: string;
  updatedAt: number;
}

/**
 * Where schedules are kept. Async like TaskStore, so another backend can arrive later; the
 * SQLite one is synchronous inside.
 *
 * Several hosts may share one store (PostgreSQL): a tick is fired by the host that claims it
 * (claimTick, a compare-and-set on the schedule's next time), so each tick fires once
 * across them, whichever hosts are up.
 */
export interface ScheduleStore {
  /**
   * Inserts, or replaces the schedule of that name: its createdAt, lastRunAt and lastTaskId
   * are kept (the stored ones, not the record's: a tick another host records meanwhile is
   * not undone), so `overlap` still sees the task the schedule last submitted.
   */
  save(record: ScheduleRecord): Promise<void>;
  /** Whether a schedule of that name existed. */
  remove(name: string): Promise<boolean>;
  get(name: string): Promise<ScheduleRecord | undefined>;
  /** By name. */
  list(): Promise<ScheduleRecord[]>;
  /**
   * Claims one tick: writes `claim` only if the stored schedule still matches `seen` (a
   * compare-and-set). Resolves to the schedule as now stored, whose task the winner submits,
   * or to undefined when another host fired that tick first or the schedule was changed or
   * removed: the caller then reads it again.
   */
  claimTick(name: string, seen: TickSeen, claim: TickClaim): Promise<ScheduleRecord | undefined>;
  /**
   * Records the task a claimed tick submitted. A schedule removed meanwhile is left removed,
   * and the run of a later tick already recorded is kept (the write of an earlier tick that
   * arrives last changes nothing).
   */
  recordRun(name: string, run: ScheduleRun): Promise<void>;
  /**
   * A store that several hosts share tells of changes to its schedules (a schedule saved or
   * removed, by any host, this one included): `onChange` is called after each, and after the
   * store lost track for a while (then anything may have changed). Resolves, once the store listens, to the unsubscribe,
   * which resolves once nothing of it is left open. A store only one host uses has none:
   * that host made every change itself.
   */
  watch?(onChange: () => void): Promise<() => Promise<void>>;
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
  readonly #claimTick: Statement<[number | null, number, string, string, number], ScheduleRow>;
  readonly #recordRun: Statement<[number, string, number, string, number]>;
  /** The file, named by the typed error of a disk that fails a write (see onDisk). */
  readonly #path: string;

  /** `db` must be migrated (migration 3 or later); the caller owns it and closes it. */
  constructor(db: Database) {
    this.#path = db.name;
    this.#save = db.prepare(
      `INSERT INTO schedules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         cron = excluded.cron, type = excluded.type, payload = excluded.payload,
         options = excluded.options, overlap = excluded.overlap, next_run_at = excluded.next_run_at,
         updated_at = excluded.updated_at`,
    );
    this.#remove = db.prepare('DELETE FROM schedules WHERE name = ?');
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM schedules WHERE name = ?`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM schedules ORDER BY name`);
    this.#claimTick = db.prepare(
      `UPDATE schedules SET next_run_at = ?, updated_at = ? WHERE name = ? AND cron = ? AND next_run_at = ?
       RETURNING ${COLUMNS}`,
    );
    this.#recordRun = db.prepare(
      `UPDATE schedules SET last_run_at = ?, last_task_id = ?, updated_at = ?
        WHERE name = ? AND (last_run_at IS NULL OR last_run_at < ?)`,
    );
  }

  async save(r: ScheduleRecord): Promise<void> {
    // Encoded before the write: a payload that cannot be cloned throws NotCloneableError
    // (ERR_NOT_CLONEABLE) and nothing is stored.
    const payload = encodeColumn(r.payload, 'payload');
    const options = r.options === null ? null : JSON.stringify(r.options);
    onDisk(this.#path, () =>
      this.#save.run(r.name, r.cron, r.type, payload, options, r.overlap ? 1 : 0, r.nextRunAt, r.lastRunAt, r.lastTaskId, r.createdAt, r.updatedAt),
    );
    committed('schedule-save');
  }

  async remove(name: string): Promise<boolean> {
    const removed = onDisk(this.#path, () => this.#remove.run(name).changes > 0);
    committed('schedule-remove');
    return removed;
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const row = this.#get.get(name);
    return row && rowToRecord(row);
  }

  async list(): Promise<ScheduleRecord[]> {
    return this.#list.all().map(rowToRecord);
  }

  /** One host owns the file: it wins unless it changed or removed the schedule itself. */
  async claimTick(name: string, seen: TickSeen, claim: TickClaim): Promise<ScheduleRecord | undefined> {
    const row = onDisk(this.#path, () => this.#claimTick.get(claim.nextRunAt, claim.updatedAt, name, seen.cron, seen.nextRunAt));
    committed('tick-claim');
    return row && rowToRecord(row);
  }

  async recordRun(name: string, run: ScheduleRun): Promise<void> {
    onDisk(this.#path, () => this.#recordRun.run(run.lastRunAt, run.lastTaskId, run.updatedAt, name, run.lastRunAt));
    committed('tick-record');
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
