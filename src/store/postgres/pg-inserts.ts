/**
 * New task rows: a batch's, many rows a statement, and a keyed one (insertKeyed), which a
 * key held by an unfinished task of the queue keeps out (the unique index tasks_key,
 * migration 2), whichever host holds it.
 */
import type { NewTaskRecord } from '../task-store.js';
import { READY_CHANNEL } from './pg-channels.js';
import type { PgDb, Queryable } from './pg-db.js';
import { encodeColumn } from '../codec.js';
import { INSERT_COLUMNS, insertValues } from './pg-rows.js';
import { takeTurns } from './pg-turns.js';

/**
 * The PostgreSQL type of each INSERT column, in INSERT_COLUMNS order (the queue, then every
 * task column but seq): a batch goes as one array per column, unnested into rows.
 */
const COLUMN_TYPES: Record<(typeof INSERT_COLUMNS)[number], string> = {
  queue: 'text',
  id: 'text',
  type: 'text',
  name: 'text',
  description: 'text',
  priority: 'smallint',
  status: 'text',
  progress: 'double precision',
  progress_message: 'text',
  payload: 'bytea',
  result: 'bytea',
  error: 'text',
  attempts: 'integer',
  created_at: 'bigint',
  started_at: 'bigint',
  completed_at: 'bigint',
  updated_at: 'bigint',
  run_at: 'bigint',
  timeout_ms: 'double precision',
  retries: 'integer',
  backoff: 'text',
  key: 'text',
  depends_on: 'text',
  on_parent_failure: 'text',
  checkpoint: 'bytea',
  group_name: 'text',
};

/**
 * One statement for any number of rows, with 27 parameters whatever the count: a VALUES list
 * of 1000 rows had 25,000, which the client spent most of a batch's time escaping and the
 * server parsing. Each row's turn (./pg-turns.ts) goes as one more column; `conflict` is the
 * keyed insert's ON CONFLICT clause. Rows go in in input order, so seqs follow it.
 */
function insertStatement(conflict: string): string {
  const arrays = INSERT_COLUMNS.map((column, i) => `$${i + 1}::${COLUMN_TYPES[column]}[]`);
  arrays.push(`$${INSERT_COLUMNS.length + 1}::bigint[]`);
  return `INSERT INTO offthread.tasks (${INSERT_COLUMNS.join(', ')}, turn)
  SELECT * FROM unnest(${arrays.join(', ')})
  ${conflict}`;
}

const INSERT_MANY = insertStatement('');

/** Rows made by insertValues as one array per column, then their turns. */
function columnArrays(rows: readonly unknown[][], turns: readonly number[]): unknown[] {
  const columns: unknown[][] = INSERT_COLUMNS.map(() => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < columns.length; c++) columns[c]![r] = row[c];
  }
  return [...columns, turns];
}

/** Inserts rows made by insertValues, in order, with their turns (takeTurns). */
export async function insertRows(client: Queryable, rows: readonly unknown[][], turns: readonly number[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(INSERT_MANY, columnArrays(rows, turns));
}

const UNFINISHED = "status IN ('queued', 'running', 'paused')";
/** A keyed insert that finds its key held leaves its turn unused: a gap, never a clash. */
const INSERT_KEYED = insertStatement(`ON CONFLICT (queue, key) WHERE key IS NOT NULL AND ${UNFINISHED} DO NOTHING
  RETURNING id`);
/** A task that holds the key ends between the INSERT and the look-up: tried again, this many times at most. */
const KEYED_TRIES = 100;

/** A debounced submit: the holder of the key takes the new payload and start, if no host has claimed it yet. */
const DEBOUNCE_HOLDER = `UPDATE offthread.tasks SET payload = $3, run_at = $4, updated_at = $5
  WHERE queue = $1 AND key = $2 AND status IN ('queued', 'paused') AND lease_owner IS NULL
  RETURNING id`;
/** ...else the key moves to the new task: the holder runs on with the payload it has. */
const RELEASE_KEY = `UPDATE offthread.tasks SET key = NULL WHERE queue = $1 AND key = $2 AND ${UNFINISHED}`;

/**
 * Stores the task unless an unfinished task of the queue holds its key; resolves to the id
 * of the task that holds the key, the new one's if it was stored (and then the queue's hosts
 * are woken to claim it). `debounced`: a holder no host has claimed takes the new payload
 * and the record's runAt instead; one that has been claimed gives its key up to the new task.
 */
export async function insertKeyed(db: PgDb, turnsDb: PgDb, queue: string, record: NewTaskRecord, payload: unknown, debounced = false): Promise<string> {
  // Encoded first: a payload that cannot be cloned fails before the server is asked.
  const row = insertValues(queue, record, payload, undefined);
  // Taken on the other connection while this one begins its transaction, as a batch's are.
  const turns = takeTurns(turnsDb, queue, [record.group]);
  turns.catch(() => undefined); // awaited in the transaction, unless it failed first
  for (let tries = 0; tries < KEYED_TRIES; tries++) {
    const id = await db.transaction(async (client) => {
      // A second host inserting the same key waits here for the first to commit, then finds the key taken.
      const inserted = await client.query<{ id: string }>(INSERT_KEYED, columnArrays([row], await turns));
      if (inserted.rows.length > 0) {
        await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
        return record.id;
      }
      if (debounced) {
        const replaced = await client.query<{ id: string }>(DEBOUNCE_HOLDER, [queue, record.key, encodeColumn(payload ?? null, 'payload'), record.runAt, record.createdAt]);
        if (replaced.rows.length > 0) return replaced.rows[0]!.id;
        await client.query(RELEASE_KEY, [queue, record.key]);
        return undefined; // and the INSERT again
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
