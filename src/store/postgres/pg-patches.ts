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
import type { Queryable } from './pg-db.js';

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
};

const FINISHED_LIST = FINISHED_STATUSES.map((status) => `'${status}'`).join(', ');

/** The UPDATE of each shape seen so far (bit i of a shape is PATCH_FIELDS[i]). */
const statements = new Map<number, string>();

/**
 * The UPDATE for patches of `shape`. Parameters: $1 the queue, $2 this host, $3 the ids, then
 * one array per column in PATCH_FIELDS order.
 */
function patchStatement(shape: number): string {
  let sql = statements.get(shape);
  if (sql !== undefined) return sql;
  const columns = PATCH_FIELDS.filter((_, i) => shape & (1 << i)).map(([, column]) => column);
  const sets = columns.map((column) => `${column} = v.${column}`);
  if (columns.includes('status')) {
    for (const lease of ['lease_owner', 'lease_until']) {
      sets.push(`${lease} = CASE WHEN v.status IN (${FINISHED_LIST}) THEN NULL ELSE t.${lease} END`);
    }
  }
  const arrays = columns.map((column, i) => `$${i + 4}::${ARRAY_TYPES[column]}[]`);
  // `t.id = ANY($3)` beside the join: with the join alone the planner read the whole table
  // (a hash join over a sequential scan) for a batch of 128 rows.
  sql = `UPDATE offthread.tasks t SET ${sets.join(', ')}
    FROM unnest($3::text[], ${arrays.join(', ')}) AS v(id, ${columns.join(', ')})
   WHERE t.queue = $1 AND t.id = ANY($3::text[]) AND t.id = v.id
     AND (t.lease_owner = $2 OR (t.lease_owner IS NULL AND NOT t.ever_leased))
  RETURNING t.id`;
  statements.set(shape, sql);
  return sql;
}

/**
 * Writes the patches (see above) and resolves to the ids of those refused: a patch for a row
 * that is gone (removed by cleanup), or that this host does not hold, changes nothing.
 */
export async function writePatches(client: Queryable, queue: string, hostId: string, patches: ReadonlyMap<string, TaskPatch>): Promise<Set<string>> {
  const groups = new Map<number, { ids: string[]; columns: unknown[][] }>();
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
  const refused = new Set(patches.keys());
  for (const [shape, { ids, columns }] of groups) {
    const { rows } = await client.query<{ id: string }>(patchStatement(shape), [queue, hostId, ids, ...columns]);
    for (const row of rows) refused.delete(row.id);
  }
  return refused;
}

const READYING = new Set<TaskStatus | undefined>(['queued', ...FINISHED_STATUSES]);

/** Whether a patch puts a task back in the queue, or ends one (its children may be ready now). */
export function makesReady(patches: ReadonlyMap<string, TaskPatch>): boolean {
  for (const patch of patches.values()) if (READYING.has(patch.status)) return true;
  return false;
}
