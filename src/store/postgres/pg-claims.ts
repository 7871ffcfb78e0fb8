/**
 * Claims and leases of the PostgreSQL store (src/store/task-claims.ts): hosts take ready
 * rows with `FOR UPDATE SKIP LOCKED` (two hosts never take the same row, and neither waits
 * for the other's), hold them under a lease they renew, and hand back what they did not
 * start. A lease that lapses is taken back for any host to claim.
 */
import { PRIORITIES } from '../../types.js';
import type { ClaimRequest, StoredTask } from '../task-claims.js';
import { READY_CHANNEL } from './pg-channels.js';
import type { PgDb } from './pg-db.js';
import { rowToStoredTask, SELECT_COLUMNS, type PgTaskRow } from './pg-rows.js';
import { advanceClock } from './pg-turns.js';

const TOP_RANK = PRIORITIES.length - 1;
const RETURNED = SELECT_COLUMNS.split(', ')
  .map((column) => `t.${column}`)
  .join(', ');

/**
 * Ready rows: queued, not held, due, every parent finished. Without aging, in the order of
 * the partial index tasks_ready (priority, then turn, then seq: round-robin across groups,
 * ./pg-turns.ts), which the walk stops early on. With aging, a task counts one level higher
 * per `agingMs` ($6) it has waited since it was last queued (its updated_at), up to the top:
 * every ready row of the queue is ranked, then sorted. $1 the queue, $2 the types, $3 now,
 * $4 the limit, $5 groups to pass over (at their cap or rate, ./pg-group-claims.ts; empty on
 * a queue without limits).
 */
export function readyRows(aging: boolean): string {
  const order = aging
    ? `LEAST(${TOP_RANK}, t.priority + floor(GREATEST(0, $3 - t.updated_at) / $6::double precision)) DESC, t.turn, t.seq`
    : 't.priority DESC, t.turn, t.seq';
  return `SELECT t.id, t.group_name, t.type FROM offthread.tasks t
       WHERE t.queue = $1 AND t.status = 'queued' AND t.lease_owner IS NULL AND t.type = ANY($2)
         AND (t.run_at IS NULL OR t.run_at <= $3)
         AND (t.group_name IS NULL OR t.group_name <> ALL($5::text[]))
         AND (t.depends_on IS NULL OR NOT EXISTS (
           SELECT 1 FROM json_array_elements_text(t.depends_on::json) AS parent(id)
             JOIN offthread.tasks p ON p.queue = t.queue AND p.id = parent.id
            WHERE p.status NOT IN ('completed', 'failed', 'cancelled')))
       ORDER BY ${order}
       LIMIT $4
       FOR UPDATE OF t SKIP LOCKED`;
}

/** The values of readyRows, then `extra`, then the aging period if there is one. */
export function readyValues(queue: string, request: ClaimRequest, passOver: readonly string[], ...extra: unknown[]): unknown[] {
  const values: unknown[] = [queue, request.types, request.now, request.limit, passOver];
  if (aged(request)) values.push(request.agingMs);
  return [...values, ...extra];
}

export function aged(request: ClaimRequest): boolean {
  return request.agingMs !== null && request.agingMs !== undefined && request.agingMs > 0;
}

/**
 * Leases the rows whose ids `ids` (a subquery) gives to host `host` until `until` (params),
 * and moves the queue's turn up to the largest turn taken. $1 is the queue. `rated` (a
 * text[] param), when given, names the types with a rate: their rows are marked `rated`,
 * which puts them in the indexes a claim counts a type's starts with (migration 7).
 */
export function leaseRows(ids: string, host: string, until: string, rated?: string): string {
  const mark = rated === undefined ? '' : `, rated = (t.rated OR t.type = ANY(${rated}))`;
  return `claimed AS (
      UPDATE offthread.tasks t SET lease_owner = ${host}, lease_until = ${until}, ever_leased = true${mark}
       WHERE t.queue = $1 AND t.id = ANY(ARRAY(${ids}))
      RETURNING ${RETURNED}, t.turn),
    clock AS (${advanceClock('$1', 'SELECT max(turn) FROM claimed')})`;
}

/*
 * The picked ids as an array, not a join: joined, the planner read the whole table (a hash
 * join over a sequential scan) for a claim of 128 rows; `id = ANY(...)` walks the primary key.
 * Without limits, one statement. A queue that has limits is claimed by ./pg-group-claims.ts:
 * this statement takes nothing there (the NOT EXISTS), and says so (`limited`, on every row,
 * and on a row of NULLs when it took nothing), so a host learns of limits set elsewhere
 * without a round trip of its own.
 */
function claimStatement(aging: boolean): string {
  const [host, until] = aging ? ['$7', '$8'] : ['$6', '$7'];
  return `WITH limits AS (SELECT EXISTS (SELECT 1 FROM offthread.group_limits WHERE queue = $1) AS limited),
    picked AS (${readyRows(aging)}),
    ${leaseRows('SELECT id FROM picked WHERE NOT (SELECT limited FROM limits)', host, until)}
    SELECT claimed.*, limits.limited FROM limits LEFT JOIN claimed ON true`;
}

const CLAIM = claimStatement(false);
const CLAIM_AGING = claimStatement(true);

/**
 * The claim of a queue without group limits: one statement, as cheap as before groups.
 * `limited`: the queue has limits, and nothing was taken (see claimStatement).
 */
export async function claimTasks(db: PgDb, queue: string, hostId: string, request: ClaimRequest): Promise<{ rows: StoredTask[]; limited: boolean }> {
  if (request.limit < 1 || request.types.length === 0) return { rows: [], limited: false };
  const { rows } = await db.query<PgTaskRow & { limited: boolean }>(aged(request) ? CLAIM_AGING : CLAIM, readyValues(queue, request, [], hostId, request.leaseUntil));
  const limited = rows[0]?.limited === true;
  return { rows: rows.filter((row) => row.id !== null).map(rowToStoredTask), limited };
}

export async function renewLeases(db: PgDb, queue: string, hostId: string, ids: readonly string[], leaseUntil: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    'UPDATE offthread.tasks SET lease_until = $1 WHERE queue = $2 AND id = ANY($3) AND lease_owner = $4 RETURNING id',
    [leaseUntil, queue, ids, hostId],
  );
  return rows.map((row) => row.id);
}

export async function releaseTasks(db: PgDb, queue: string, hostId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.transaction(async (client) => {
    // A task still `running` here was interrupted by a close that did not wait for it: queued
    // again at once (its attempt counted, its checkpoint kept), not after its lease lapses.
    await client.query(
      `UPDATE offthread.tasks SET lease_owner = NULL, lease_until = NULL,
              status = CASE WHEN status = 'running' THEN 'queued' ELSE status END
        WHERE queue = $1 AND id = ANY($2) AND lease_owner = $3 AND status IN ('queued', 'paused', 'running')`,
      [queue, ids, hostId],
    );
    await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
  });
}

/**
 * Leases that lapsed before `now` are let go: a running task goes back to `queued` (its
 * counted attempt and checkpoint kept). The other hosts are woken to claim them.
 */
export async function takeBackLapsed(db: PgDb, queue: string, now: number): Promise<number> {
  return db.transaction(async (client) => {
    const { rowCount } = await client.query(
      `UPDATE offthread.tasks SET lease_owner = NULL, lease_until = NULL,
              status = CASE WHEN status = 'running' THEN 'queued' ELSE status END, updated_at = $2
        WHERE queue = $1 AND lease_owner IS NOT NULL AND lease_until < $2`,
      [queue, now],
    );
    if ((rowCount ?? 0) > 0) await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
    return rowCount ?? 0;
  });
}

export async function nextDueAt(db: PgDb, queue: string, types: readonly string[], now: number): Promise<number | null> {
  if (types.length === 0) return null;
  const { rows } = await db.query<{ at: number | null }>(
    "SELECT min(run_at) AS at FROM offthread.tasks WHERE queue = $1 AND status = 'queued' AND lease_owner IS NULL AND type = ANY($2) AND run_at > $3",
    [queue, types, now],
  );
  return rows[0]?.at ?? null;
}
