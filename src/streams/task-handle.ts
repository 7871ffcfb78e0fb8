/** What `submit` returns: a task's id and its live views, built on `observe`. */
import { distinctUntilChanged, map, type Observable } from 'rxjs';
import type { Task, TaskStatus } from '../types.js';

export interface TaskHandle<Result = unknown> {
  readonly id: string;
  /** The status now, then each change, completing once the task has finished. */
  readonly status$: Observable<TaskStatus>;
  /** Progress now, then each coalesced update (100 once completed), completing at the end. */
  readonly progress$: Observable<{ progress: number; message: string | null }>;
  /** The handler's return value; rejects with ERR_TASK_FAILED or ERR_TASK_CANCELLED. */
  result(): Promise<Result>;
}

export function createHandle<Result>(
  id: string,
  observe: (id: string) => Observable<Task>,
  result: (id: string) => Promise<Result>,
): TaskHandle<Result> {
  return {
    id,
    get status$() {
      return observe(id).pipe(
        map((task) => task.status),
        distinctUntilChanged(),
      );
    },
    get progress$() {
      return observe(id).pipe(
        map((task) => ({ progress: task.progress, message: task.progressMessage })),
        distinctUntilChanged((a, b) => a.progress === b.progress && a.message === b.message),
      );
    },
    result: () => result(id),
  };
}
