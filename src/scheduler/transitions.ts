/**
 * The one table of status moves. Every change of a task's status, from the public API or
 * from a worker's report, is checked here; anything else is an InvalidTransitionError.
 *
 *   queued    -> running    a worker thread started it
 *   queued    -> paused     paused before it started: held back, not dispatched
 *   queued    -> completed | failed | cancelled
 *                           cancelled while waiting; or a task that shared its call (a
 *                           batch, or tasks sent ahead together), whose start and end the
 *                           host learns together
 *   running   -> paused     its thread stopped at a checkpoint (the worker acknowledged)
 *   running   -> queued     interrupted (close without grace, a crash): it will run again
 *   running   -> completed | failed | cancelled
 *   paused    -> queued     resumed before it ever started
 *   paused    -> running    resumed at the checkpoint where its thread sleeps
 *   paused    -> cancelled
 *   completed, failed, cancelled: final.
 */
import type { TaskStatus } from '../types.js';

const MOVES: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  queued: ['running', 'paused', 'completed', 'failed', 'cancelled'],
  running: ['paused', 'queued', 'completed', 'failed', 'cancelled'],
  paused: ['queued', 'running', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canMove(from: TaskStatus, to: TaskStatus): boolean {
  return MOVES[from].includes(to);
}

export function isFinished(status: TaskStatus): boolean {
  return MOVES[status].length === 0;
}
