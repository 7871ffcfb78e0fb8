/**
 * The cron schedules of one queue, in the PostgreSQL store. Several hosts share them: a tick
 * is fired by the host whose claim (a compare-and-set on `next_run_at`) wins.
 */
import type pg from 'pg';
import { encodeColumn } from '../codec.js';
import {
  rowToRecord,
  type ScheduleRecord,
  type ScheduleRow,
  type ScheduleRun,
  type ScheduleStore,
  type TickClaim,
  type TickSeen,
} from '../schedule-store.js';

const COLUMNS = 'name, cron, type, payload, options, overlap, next_run_at, last_run_at, last_task_id, created_at, updated_at';

export class PgScheduleStore implements ScheduleStore {
  readonly #pool: pg.Pool;
  readonly #queue: string;

  constructor(pool: pg.Pool, queue: string) {
    this.#pool = pool;
    this.#queue = queue;
  }

  async save(r: ScheduleRecord): Promise<void> {
    // Encoded before the write: a payload that cannot be cloned throws NotCloneableError.
    const payload = encodeColumn(r.payload, 'payload');
    // A replacement keeps last_run_at and last_task_id as stored: another host may have
    // recorded a tick since this one read the schedule.
    await this.#pool.query(
      `INSERT INTO offthread.schedules (queue, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (queue, name) DO UPDATE SET
         cron = excluded.cron, type = excluded.type, payload = excluded.payload, options = excluded.options,
         overlap = excluded.overlap, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at`,
      [
        this.#queue,
        r.name,
        r.cron,
        r.type,
        payload,
        r.options === null ? null : JSON.stringify(r.options),
        r.overlap,
        r.nextRunAt,
        r.lastRunAt,
        r.lastTaskId,
        r.createdAt,
        r.updatedAt,
      ],
    );
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('DELETE FROM offthread.schedules WHERE queue = $1 AND name = $2', [this.#queue, name]);
    return (rowCount ?? 0) > 0;
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.#pool.query<ScheduleRow>(`SELECT ${COLUMNS} FROM offthread.schedules WHERE queue = $1 AND name = $2`, [
      this.#queue,
      name,
    ]);
    return rows[0] && rowToRecord(rows[0]);
  }

  async list(): Promise<ScheduleRecord[]> {
    const { rows } = await this.#pool.query<ScheduleRow>(`SELECT ${COLUMNS} FROM offthread.schedules WHERE queue = $1 ORDER BY name`, [this.#queue]);
    return rows.map(rowToRecord);
  }

  /**
   * Hosts claiming the same tick at once: the row lock orders their UPDATEs, and the later
   * one, re-checking its WHERE against the row the first committed, matches nothing.
   */
  async claimTick(name: string, seen: TickSeen, claim: TickClaim): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.#pool.query<ScheduleRow>(
      `UPDATE offthread.schedules SET next_run_at = $1, updated_at = $2
        WHERE queue = $3 AND name = $4 AND cron = $5 AND next_run_at = $6
       RETURNING ${COLUMNS}`,
      [claim.nextRunAt, claim.updatedAt, this.#queue, name, seen.cron, seen.nextRunAt],
    );
    return rows[0] && rowToRecord(rows[0]);
  }

  async recordRun(name: string, run: ScheduleRun): Promise<void> {
    await this.#pool.query(
      `UPDATE offthread.schedules SET last_run_at = $1, last_task_id = $2, updated_at = $3
        WHERE queue = $4 AND name = $5 AND (last_run_at IS NULL OR last_run_at < $1)`,
      [run.lastRunAt, run.lastTaskId, run.updatedAt, this.#queue, name],
    );
  }
}
