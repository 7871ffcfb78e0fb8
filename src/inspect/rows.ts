import type { ScheduleInfo } from '../scheduler/cron.js';
import { decodeError, decodeValue } from '../store/codec.js';
import { PRIORITIES, type Backoff, type Priority, type Task, type TaskStatus } from '../types.js';
import type { ScheduleColumns, TaskColumns } from './queries.js';

/*
 * Rows as the public types, exactly as a runtime reports them (TaskRuntime.get, list,
 * schedules): payloads and results decoded from their structured-clone bytes, a NULL result
 * as null, the priority rank as its name, JSON columns parsed.
 */

export function rowToTask(row: TaskColumns): Task {
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
  };
}

export function rowToSchedule(row: ScheduleColumns): ScheduleInfo {
  return {
    name: row.name,
    cron: row.cron,
    type: row.type,
    payload: decodeValue(row.payload),
    options: row.options === null ? null : (JSON.parse(row.options) as object),
    overlap: row.overlap !== 0,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
    lastTaskId: row.last_task_id,
  };
}
