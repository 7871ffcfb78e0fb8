/**
 * New task rows: a batch's, many rows a statement, and a keyed one (insertKeyed), which a
 * key held by an unfinished task of the queue keeps out (the unique index tasks_key,
 * migration 2), whichever host holds it.
 */
import type { NewTaskRecord } from '../task-store.js';
import { READY_CHANNEL } from './pg-channels.js';
import type { PgDb, Queryable } from './pg-db.js';
import { INSERT_COLUMNS, insertValues } from './pg-rows.js';

/** Rows per INSERT statement: 25 parameters a row, well under PostgreSQL's 65535. */
const INSERT_ROWS = 1000;

/** Inserts rows made by insertValues, in order. */
export async function insertRows(client: Queryable, rows: readonly unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_ROWS) {
    const chunk = rows.slice(start, start + INSERT_ROWS);
    const values: unknown[] = [];
    const tuples = chunk.map((row) => `(${row.map((value) => `$${values.push(value)}`).join(', ')})`);
    await client.query(`INSERT INTO offthread.tasks (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
  }
}

const UNFINISHED = "status IN ('queued', 'running', 'paused')";
const INSERT_KEYED = `INSERT INTO offthread.tasks (${INSERT_COLUMNS.join(', ')})
  VALUES (${INSERT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (queue, key) WHERE key IS NOT NULL AND ${UNFINISHED} DO NOTHING
  RETURNING id`;
/** A task that holds the key ends between the INSERT and the look-up: tried again, this many times at most. */
const KEYED_TRIES = 100;

/**
 * Stores the task unless an unfinished task of the queue holds its key; resolves to the id
 * of the task that holds the key, the new one's if it was stored (and then the queue's hosts
 * are woken to claim it).
 */
export async function insertKeyed(db: PgDb, queue: string, record: NewTaskRecord, payload: unknown): Promise<string> {
  // Encoded first: a payload that cannot be cloned fails before the server is asked.
  const row = insertValues(queue, record, payload, undefined);
  for (let tries = 0; tries < KEYED_TRIES; tries++) {
    const id = await db.transaction(async (client) => {
      // A second host inserting the same key waits here for the first to commit, then finds the key taken.
      const inserted = await client.query<{ id: string }>(INSERT_KEYED, row);
      if (inserted.rows.length > 0) {
        await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
        return record.id;
      }
      // A statement of its own, so it sees the holder the INSERT waited for (READ COMMITTED).
      const holder = await client.query<{ id: string }>(`SELECT id FROM offthread.tasks WHERE queue = $1 AND key = $2 AND ${UNFINISHED}`, [queue, record.key]);
      return holder.rows[0]?.id;
    });
    // Undefined: the holder ended in between and the key is free again.
    if (id !== undefined) return id;
  }
  throw new Error(`Could not store task ${record.id}: the tasks holding its key "${record.key}" kept ending as it was stored.`);
}
