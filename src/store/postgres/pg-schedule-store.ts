/** The cron schedules of one queue, in the PostgreSQL store. */
import type { Pool } from 'pg';
import { encodeColumn } from '../codec.js';
import { rowToRecord, type ScheduleRecord, type ScheduleRow, type ScheduleRun, type ScheduleStore } from '../schedule-store.js';


const COLUMNS = 'name, cron, type, payload, options, overlap, next_run_at, last_run_at, last_task_id, created_at, updated_at';

export class PgScheduleStore implements ScheduleStore {
  readonly #pool: Pool;
  readonly #queue: string;

  constructor(pool: Pool, queue: string) {
    this.#pool = pool;
    this.#queue = queue;
  }

  async save(r: ScheduleRecord): Promise<void> {
    // Encoded before the write: a payload that cannot be cloned throws NotCloneableError.
    const payload = encodeColumn(r.payload, 'payload');
    await this.#pool.query(
      `INSERT INTO offthread.schedules (queue, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (queue, name) DO UPDATE SET
         cron = excluded.cron, type = excluded.type, payload = excluded.payload, options = excluded.options,
         overlap = excluded.overlap, next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at,
         last_task_id = excluded.last_task_id, updated_at = excluded.updated_at`,
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

  async markRun(name: string, run: ScheduleRun): Promise<void> {
    await this.#pool.query(
      'UPDATE offthread.schedules SET last_run_at = $1, last_task_id = $2, next_run_at = $3, updated_at = $4 WHERE queue = $5 AND name = $6',
      [run.lastRunAt, run.lastTaskId, run.nextRunAt, run.updatedAt, this.#queue, name],
    );
  }
}
