/**
 * A batch's patches, written a statement per shape (the set of columns a patch sets) rather
 * than a statement per patch: the values of every patch of one shape go in as one array per
 * column, unnested into rows and joined to the tasks by id.
 *
 * Fenced by the lease: a patch changes a row only while this host holds it. A host whose
 * lease lapsed and was taken back (its tasks claimed by another host, or cancelled meanwhile)
 * writes nothing over what came after. A row no host has ever claimed (`ever_leased` false)
 * takes any patch: what a store's single writer does, with no claims at all.
 *
 * A patch that ends a task (completed, failed, cancelled) also lets go of its lease.
 */
import { FINISHED_STATUSES, type TaskStatus } from '../../types.js';
import { patchColumnValue } from '../columns.js';
import { PATCH_FIELDS } from '../sql.js';
import type { TaskPatch } from '../task-store.js';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Queryable } from './pg-db.js';
import { QUEUE_LIMITED } from './pg-group-limits.js';

type PatchColumn = (typeof PATCH_FIELDS)[number][1];

/** The type of each patch column's parameter array (see migration 1). */
const ARRAY_TYPES: Record<PatchColumn, string> = {
  status: 'text',
  priority: 'smallint',
  progress: 'double precision',
  progress_message: 'text',
  result: 'bytea',
  error: 'text',
  attempts: 'integer',
  started_at: 'bigint',
  completed_at: 'bigint',
  updated_at: 'bigint',
  run_at: 'bigint',
  checkpoint: 'bytea',
  payload: 'bytea',
};

/** A queued child of queue $1 waits for its parents (the index tasks_children, migration 4). */
const CHILD_WAITING = "SELECT 1 FROM offthread.tasks WHERE queue = $1 AND status = 'queued' AND depends_on IS NOT NULL";

const FINISHED_LIST = FINISHED_STATUSES.map((status) => `'${status}'`).join(', ');

/** The UPDATE of each shape seen so far (bit i of a shape is PATCH_FIELDS[i]), alone in its statement. */
const statements = new Map<number, string>();

function patchStatement(shape: number): string {
  let sql = statements.get(shape);
  if (sql === undefined) statements.set(shape, (sql = updateOf(shape, 3)));
  return sql;
}

/**
 * The UPDATE for patches of `shape`. Parameters: $1 the queue, $2 this host, then from
 * `$first` the ids and one array per column in PATCH_FIELDS order.
 */
function updateOf(shape: number, first: number): string {
  const columns = PATCH_FIELDS.filter((_, i) => shape & (1 << i)).map(([, column]) => column);
  const sets = columns.map((column) => `${column} = v.${column}`);
  if (columns.includes('status')) {
    for (const lease of ['lease_owner', 'lease_until']) {
      sets.push(`${lease} = CASE WHEN v.status IN (${FINISHED_LIST}) THEN NULL ELSE t.${lease} END`);
    }
  }
  const ids = `$${first}::text[]`;
  const arrays = columns.map((column, i) => `$${first + 1 + i}::${ARRAY_TYPES[column]}[]`);
  // `t.id = ANY(ids)` beside the join: with the join alone the planner read the whole table
  // (a hash join over a sequential scan) for a batch of 128 rows.
  return `UPDATE offthread.tasks t SET ${sets.join(', ')}
    FROM unnest(${ids}, ${arrays.join(', ')}) AS v(id, ${columns.join(', ')})
   WHERE t.queue = $1 AND t.id = ANY(${ids}) AND t.id = v.id
     AND (t.lease_owner = $2 OR (t.lease_owner IS NULL AND NOT t.ever_leased))
  RETURNING t.id`;
}

/**
 * Writes the patches (see above) and resolves to the ids of those refused: a patch for a row
 * that is gone (removed by cleanup), or that this host does not hold, changes nothing.
 */
export async function writePatches(client: Queryable, queue: string, hostId: string, patches: ReadonlyMap<string, TaskPatch>): Promise<Set<string>> {
  const refused = new Set(patches.keys());
  for (const [shape, { ids, columns }] of groupByShape(patches)) {
    const { rows } = await client.query<{ id: string }>(patchStatement(shape), [queue, hostId, ids, ...columns]);
    for (const row of rows) refused.delete(row.id);
  }
  return refused;
}

type Groups = Map<number, { ids: string[]; columns: unknown[][] }>;

/** The patches by shape: per shape, the ids and one array of values per column. */
function groupByShape(patches: ReadonlyMap<string, TaskPatch>): Groups {
  const groups: Groups = new Map();
  for (const [id, patch] of patches) {
    let shape = 0;
    const values: unknown[] = [];
    PATCH_FIELDS.forEach(([key], i) => {
      const value = patch[key];
      // A key is present when its value is not undefined, except `result`, where the key
      // alone counts (undefined is a result a handler may return, stored as NULL).
      if (value === undefined && !(key === 'result' && 'result' in patch)) return;
      shape |= 1 << i;
      values.push(patchColumnValue(key, value));
    });
    let group = groups.get(shape);
    if (group === undefined) {
      group = { ids: [], columns: values.map(() => []) };
      groups.set(shape, group);
    }
    group.ids.push(id);
    values.forEach((value, i) => group.columns[i]!.push(value));
  }
  return groups;
}

/**
 * A batch of patches and events with no new rows, as one statement: its UPDATEs (one per
 * shape), the wake-up of the hosts, and the events, in one round trip that commits by
 * itself. A transaction of the same took five (BEGIN, UPDATE, the check for children,
 * NOTIFY, COMMIT), and most batches are of this kind: runs starting and ending.
 *
 * The events go only if every patch was applied (the common case); otherwise `told` is
 * false and the caller sends the events of the applied patches itself, after the commit.
 * Resolves to the ids of the patches refused (see writePatches).
 */
export async function commitPatches(
  db: { query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> },
  queue: string,
  hostId: string,
  patches: ReadonlyMap<string, TaskPatch>,
  wake: { channel: string; always: boolean },
  events: { channel: string; payloads: readonly string[] },
): Promise<{ refused: Set<string>; told: boolean }> {
  const values: unknown[] = [queue, hostId];
  const updates: string[] = [];
  for (const [shape, { ids, columns }] of groupByShape(patches)) {
    updates.push(`u${updates.length} AS (${updateOf(shape, values.length + 1)})`);
    values.push(ids, ...columns);
  }
  const done = updates.map((_, i) => `SELECT id FROM u${i}`).join(' UNION ALL ');
  values.push(wake.channel, wake.always, ends(patches), events.channel, events.payloads, patches.size);
  const n = values.length;
  const sql = `WITH ${updates.join(', ')}, done AS (${done}),
    woken AS (SELECT pg_notify($${n - 5}, $1) WHERE $${n - 4}::boolean OR ($${n - 3}::boolean AND (EXISTS (
      ${CHILD_WAITING}) OR EXISTS (${QUEUE_LIMITED})))),
    told AS (SELECT pg_notify($${n - 2}, payload) FROM unnest($${n - 1}::text[]) AS payload
      WHERE (SELECT count(*) FROM done) = $${n}::integer)
    SELECT ARRAY(SELECT id FROM done) AS ids, (SELECT count(*) FROM woken)::integer AS woken, (SELECT count(*) FROM told)::integer AS told`;
  const { rows } = await db.query<{ ids: string[] }>(sql, values);
  const refused = new Set(patches.keys());
  for (const id of rows[0]!.ids) refused.delete(id);
  return { refused, told: refused.size === 0 };
}

function ends(patches: ReadonlyMap<string, TaskPatch>): boolean {
  for (const patch of patches.values()) if (FINISHED.has(patch.status)) return true;
  return false;
}

/** Whether a patch puts a task back in the queue: any host may claim it now. */
export function requeues(patches: ReadonlyMap<string, TaskPatch>): boolean {
  for (const patch of patches.values()) if (patch.status === 'queued') return true;
  return false;
}

const FINISHED = new Set<TaskStatus | undefined>(FINISHED_STATUSES);

/**
 * Whether a patch ends a task and a queued child of the queue waits for its parents: one may
 * be ready now; or the queue has group limits: a group held at its cap may go again.
 * (Waking every host at every end had them all claim, and find nothing, once per commit:
 * hundreds of empty claims a second.)
 */
export async function freesChildren(client: Queryable, queue: string, patches: ReadonlyMap<string, TaskPatch>): Promise<boolean> {
  if (!ends(patches)) return false;
  const { rows } = await client.query<{ waiting: boolean }>(
    `SELECT EXISTS (${CHILD_WAITING}) OR EXISTS (${QUEUE_LIMITED}) AS waiting`,
    [queue],
  );
  return rows[0]?.waiting === true;
}
