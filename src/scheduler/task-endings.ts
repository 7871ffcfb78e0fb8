/**
 * How a task's end reaches those who wait on it: the errors a finished task answers with,
 * and the settling of pause, resume and cancel calls still waiting when it ends.
 */
import { InvalidTransitionError, OffthreadError, TaskCancelledError, TaskFailedError } from '../errors.js';
import type { TaskError, TaskStatus } from '../types.js';
import { settle, type LiveTask } from './live-task.js';

export const CANCELLED: TaskError = { code: 'ERR_TASK_CANCELLED', message: 'The task was cancelled.' };

export const MISSING_PARENT: TaskError = { code: 'ERR_TASK_NOT_FOUND', message: 'The parent task is no longer in the store.' };

/** The error `result()` rejects with for a task that did not complete. */
export function settledError(taskId: string, status: TaskStatus, error: TaskError | null): OffthreadError {
  if (status === 'cancelled') return new TaskCancelledError(taskId);
  return new TaskFailedError(taskId, error ?? { code: 'ERR_TASK_FAILED', message: 'failed' });
}

export function timeoutError(task: LiveTask): TaskError {
  return {
    code: 'ERR_TIMEOUT',
    message: `The task ran longer than its timeoutMs (${task.limits.timeoutMs} ms) and was stopped.`,
  };
}

/**
 * A task's end is stored (or could not be: `writeError`): everyone waiting on it hears. A
 * result waiter gets the value or the error the task ended with; pause, resume and cancel
 * waiters see settleControlWaiters. A failed write fails them all with its error: nothing
 * is promised that the store does not hold.
 */
export function settleEnd(
  task: LiveTask,
  status: 'completed' | 'failed' | 'cancelled',
  value: unknown,
  error: TaskError | null,
  writeError?: unknown,
): void {
  const waiters = task.resultWaiters;
  task.resultWaiters = undefined;
  if (writeError !== undefined) {
    for (const waiter of waiters ?? []) waiter.reject(writeError);
    task.pauseWaiters = settle(task.pauseWaiters, writeError);
    task.resumeWaiters = settle(task.resumeWaiters, writeError);
    task.cancelWaiters = settle(task.cancelWaiters, writeError);
    return;
  }
  settleControlWaiters(task, status);
  if (waiters === undefined) return;
  if (status === 'completed') for (const waiter of waiters) waiter.resolve(value);
  else for (const waiter of waiters) waiter.reject(settledError(task.id, status, error));
}

/**
 * A task ended: a pause or resume still waiting can no longer happen, and a cancel waiting
 * succeeded only if it ended cancelled. Errors are made only for someone waiting: a stack
 * trace per finished task is not free.
 */
function settleControlWaiters(task: LiveTask, status: 'completed' | 'failed' | 'cancelled'): void {
  if (task.pauseWaiters !== undefined || task.resumeWaiters !== undefined) {
    const finished = new InvalidTransitionError(task.id, status, 'pause or resume', 'it ended first');
    task.pauseWaiters = settle(task.pauseWaiters, finished);
    task.resumeWaiters = settle(task.resumeWaiters, finished);
  }
  if (task.cancelWaiters !== undefined) {
    const notCancelled = new InvalidTransitionError(task.id, status, 'cancel', 'it ended before it could be stopped');
    task.cancelWaiters = settle(task.cancelWaiters, status === 'cancelled' ? undefined : notCancelled);
  }
}

/** Waits for the thread to act on a pause, resume or cancel. */
export function waitFor(task: LiveTask, list: 'pauseWaiters' | 'resumeWaiters' | 'cancelWaiters'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    (task[list] ??= []).push({ resolve, reject });
  });
}
