/**
 * The cron schedules of one queue, in the PostgreSQL store. Several hosts share them: a tick
 * is fired by the host whose claim (a compare-and-set on `next_run_at`) wins, and a save or
 * remove notifies the `offthread_schedules` channel, so the other hosts read the schedules
 * again instead of polling for them.
 */
import pg from 'pg';
import { encodeColumn } from '../codec.js';
import type { PgDb } from './pg-db.js';
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

/** The channel a save or remove of a schedule notifies, with the queue's name as payload. */
export const SCHEDULES_CHANNEL = 'offthread_schedules';

/** A lost LISTEN connection is opened again after this, doubling up to RETRY_LAST_MS. */
const RETRY_FIRST_MS = 250;
const RETRY_LAST_MS = 30_000;

export class PgScheduleStore implements ScheduleStore {
  readonly #db: PgDb;
  readonly #queue: string;
  #changes: ScheduleChanges | undefined;

  /** Statements go through `db`: a lost server is StoreUnavailableError (./pg-db.ts). */
  constructor(db: PgDb, queue: string) {
    this.#db = db;
    this.#queue = queue;
  }

  async save(r: ScheduleRecord): Promise<void> {
    // Encoded before the write: a payload that cannot be cloned throws NotCloneableError.
    const payload = encodeColumn(r.payload, 'payload');
    // One statement, so the notification is sent when (and only if) the row is committed.
    // A replacement keeps last_run_at and last_task_id as stored: another host may have
    // recorded a tick since this one read the schedule.
    await this.#db.query(
      `WITH saved AS (
         INSERT INTO offthread.schedules (queue, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (queue, name) DO UPDATE SET
           cron = excluded.cron, type = excluded.type, payload = excluded.payload, options = excluded.options,
           overlap = excluded.overlap, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at
         RETURNING name)
       SELECT pg_notify($13, $1) FROM saved`,
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
        SCHEDULES_CHANNEL,
      ],
    );
  }

  async remove(name: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `WITH removed AS (DELETE FROM offthread.schedules WHERE queue = $1 AND name = $2 RETURNING name)
       SELECT pg_notify($3, $1) FROM removed`,
      [this.#queue, name, SCHEDULES_CHANNEL],
    );
    return (rowCount ?? 0) > 0;
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.#db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM offthread.schedules WHERE queue = $1 AND name = $2`, [
      this.#queue,
      name,
    ]);
    return rows[0] && rowToRecord(rows[0]);
  }

  async list(): Promise<ScheduleRecord[]> {
    const { rows } = await this.#db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM offthread.schedules WHERE queue = $1 ORDER BY name`, [this.#queue]);
    return rows.map(rowToRecord);
  }

  /**
   * Hosts claiming the same tick at once: the row lock orders their UPDATEs, and the later
   * one, re-checking its WHERE against the row the first committed, matches nothing. No
   * notification: the others' timers find the new time when they read the schedules again.
   */
  async claimTick(name: string, seen: TickSeen, claim: TickClaim): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.#db.query<ScheduleRow>(
      `UPDATE offthread.schedules SET next_run_at = $1, updated_at = $2
        WHERE queue = $3 AND name = $4 AND cron = $5 AND next_run_at = $6
       RETURNING ${COLUMNS}`,
      [claim.nextRunAt, claim.updatedAt, this.#queue, name, seen.cron, seen.nextRunAt],
    );
    return rows[0] && rowToRecord(rows[0]);
  }

  async recordRun(name: string, run: ScheduleRun): Promise<void> {
    await this.#db.query(
      `UPDATE offthread.schedules SET last_run_at = $1, last_task_id = $2, updated_at = $3
        WHERE queue = $4 AND name = $5 AND (last_run_at IS NULL OR last_run_at < $1)`,
      [run.lastRunAt, run.lastTaskId, run.updatedAt, this.#queue, name],
    );
  }

  /** LISTENs on a connection of its own, opened for the first watcher and closed after the last. */
  watch(onChange: () => void): Promise<() => Promise<void>> {
    this.#changes ??= new ScheduleChanges(this.#db.pool.options.connectionString ?? '', this.#queue);
    return this.#changes.add(onChange);
  }
}

/**
 * The queue's schedule notifications, on one LISTEN connection apart from the pool (a pooled
 * connection would be handed to queries, and pool.end() would wait for it). A lost
 * connection is opened again, with growing waits; once it is back, every watcher is told of
 * a change, since notifications sent meanwhile were not received.
 */
class ScheduleChanges {
  readonly #connectionString: string;
  readonly #queue: string;
  readonly #watchers = new Set<() => void>();
  /** The connection that listens, once it does. */
  #client: pg.Client | undefined;
  /** The connection being opened, if any. */
  #opening: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_FIRST_MS;
  /** Moves on when the last watcher leaves: a connection opened for an earlier epoch is closed. */
  #epoch = 0;

  constructor(connectionString: string, queue: string) {
    this.#connectionString = connectionString;
    this.#queue = queue;
  }

  async add(onChange: () => void): Promise<() => Promise<void>> {
    // A distinct function per watch, so the same callback watching twice unsubscribes once each.
    const watcher = (): void => onChange();
    this.#watchers.add(watcher);
    try {
      // The first watcher (or one joining while the connection is opened) waits until it
      // listens; one joining while a lost connection waits to be retried is told when it is
      // back. A connection opened for watchers that have all left closes itself: open anew.
      while (this.#client === undefined && this.#retry === undefined) {
        this.#opening ??= this.#open();
        await this.#opening;
      }
    } catch (error) {
      this.#watchers.delete(watcher);
      throw error;
    }
    let removed: Promise<void> | undefined;
    return () => (removed ??= this.#remove(watcher));
  }

  async #remove(watcher: () => void): Promise<void> {
    this.#watchers.delete(watcher);
    if (this.#watchers.size > 0) return;
    this.#epoch++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#retryMs = RETRY_FIRST_MS;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
    // A connection still being opened closes itself, its epoch having passed.
    await this.#opening?.catch(() => undefined);
  }

  /** Opens a connection and LISTENs; it becomes #client unless the last watcher left meanwhile. */
  async #open(): Promise<void> {
    const epoch = this.#epoch;
    const client = new pg.Client({ connectionString: this.#connectionString });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (this.#client !== client || message.channel !== SCHEDULES_CHANNEL || message.payload !== this.#queue) return;
      this.#tell();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SCHEDULES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    } finally {
      this.#opening = undefined;
    }
    if (epoch !== this.#epoch) await client.end().catch(() => undefined);
    else this.#client = client;
  }

  /** The listening connection broke (the server restarted, the network dropped it). */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return; // closed here, or not yet listening
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#watchers.size === 0 || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#opening ??= this.#open();
      this.#opening.then(
        () => {
          if (this.#client === undefined) return; // the last watcher left meanwhile
          this.#retryMs = RETRY_FIRST_MS;
          this.#tell();
        },
        () => this.#retryLater(),
      );
    }, this.#retryMs);
    // Watchers keep the process alive by their own means; a retry alone does not.
    this.#retry.unref();
    this.#retryMs = Math.min(RETRY_LAST_MS, this.#retryMs * 2);
  }

  #tell(): void {
    for (const watcher of [...this.#watchers]) watcher();
  }
}
