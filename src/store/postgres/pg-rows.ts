/**
 * How a task row of the PostgreSQL store is written and read: the same encodings as the
 * SQLite store (src/store/codec.ts: v8 bytes for payloads and results, JSON for errors,
 * backoff and parents, the priority as its rank), as named columns.
 */
import { PRIORITIES, type Backoff, type Priority, type Task, type TaskStatus } from '../../types.js';
import { decodeError, decodeValue, encodeColumn, encodeError } from '../codec.js';
import { rank } from '../columns.js';
import { TASK_COLUMNS, type TaskColumnTypes } from '../sql.js';
import type { StoredTask } from '../task-claims.js';
import type { NewTaskRecord, TaskPatch } from '../task-store.js';

/** The columns a SELECT returns: the SQLite store's, by the same names. */
export const SELECT_COLUMNS = TASK_COLUMNS.join(', ');
/** The columns of a list: a checkpoint reads as NULL there (only `get` shows it). */
export const LIST_COLUMNS = TASK_COLUMNS.map((column) => (column === 'checkpoint' ? 'NULL::bytea AS checkpoint' : column)).join(', ');

/** A row as `pg` reads it: the SQLite store's columns, by name (bigints read as numbers). */
export type PgTaskRow = TaskColumnTypes;

export function rowToTask(row: PgTaskRow): Task {
  const result = decodeValue(row.result);
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    description: row.description,
    priority: PRIORITIES[row.priority] as Priority,
    status: row.status as TaskStatus,
    progress: row.progress,
    progressMessage: row.progress_message,
    payload: decodeValue(row.payload),
    result: result === undefined ? null : result,
    error: decodeError(row.error),
    attempts: row.attempts,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    updatedAt: row.updated_at,
    runAt: row.run_at,
    timeoutMs: row.timeout_ms,
    retries: row.retries,
    backoff: row.backoff === null ? null : (JSON.parse(row.backoff) as Backoff),
    key: row.key,
    dependsOn: row.depends_on === null ? [] : (JSON.parse(row.depends_on) as string[]),
    onParentFailure: (row.on_parent_failure ?? 'cancel') as Task['onParentFailure'],
    group: row.group_name,
  };
}

export function rowToStoredTask(row: PgTaskRow): StoredTask {
  const task = rowToTask(row) as StoredTask;
  task.seq = row.seq;
  task.checkpoint = row.checkpoint;
  return task;
}

/** The columns an INSERT sets, in parameter order (see insertValues): the queue, then every column but seq. */
export const INSERT_COLUMNS = ['queue', ...TASK_COLUMNS.filter((column) => column !== 'seq')] as const;

/** A new row's values, with the changes made to it before it was written (see WriteBatch). */
export function insertValues(queue: string, r: NewTaskRecord, payload: unknown, changes: TaskPatch | undefined): unknown[] {
  const c = changes ?? ({} as Partial<TaskPatch>);
  return [
    queue,
    r.id,
    r.type,
    r.name,
    r.description,
    rank(c.priority ?? r.priority),
    c.status ?? 'queued',
    c.progress ?? 0,
    c.progressMessage ?? null,
    encodeColumn(payload, 'payload'),
    encodeColumn(c.result, 'result'),
    encodeError(c.error),
    c.attempts ?? 0,
    r.createdAt,
    c.startedAt ?? null,
    c.completedAt ?? null,
    c.updatedAt ?? r.createdAt,
    'runAt' in c ? (c.runAt ?? null) : r.runAt,
    r.timeoutMs,
    r.retries,
    r.backoff === null ? null : JSON.stringify(r.backoff),
    r.key,
    r.dependsOn.length === 0 ? null : JSON.stringify(r.dependsOn),
    r.onParentFailure,
    encodeColumn(c.checkpoint, 'result'),
    r.group,
  ];
}
