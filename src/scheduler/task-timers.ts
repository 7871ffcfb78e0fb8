/**
 * The two kinds of time a task waits on, each behind one timer (./timer-queue.ts):
 * - delays: a queued task that is not due yet (a retry's backoff) joins the heap at runAt;
 * - deadlines: a run with a timeout is stopped when its time is up. Time paused at a
 *   checkpoint does not count: the deadline is put aside at the pause and moved on at resume.
 */
import type { LiveTask } from './live-task.js';
import { TimerQueue } from './timer-queue.js';

export class TaskTimers {
  private readonly delays: TimerQueue<LiveTask>;
  private readonly deadlines: TimerQueue<LiveTask>;

  constructor(onDue: (task: LiveTask) => void, onTimeout: (task: LiveTask) => void) {
    this.delays = new TimerQueue(onDue, (task) => task.delayToken);
    this.deadlines = new TimerQueue(onTimeout, (task) => task.deadlineToken);
  }

  delay(task: LiveTask, until: number): void {
    task.runAt = until;
    this.delays.add(task, until, ++task.delayToken);
  }

  /**
   * A pending delay no longer fires (the task was paused, cancelled, released). A token still
   * at 0 was never armed: nothing to cancel, and nothing is written (a task that never waits
   * on a timer keeps its rarely used fields unmade, see LiveTask).
   */
  undelay(task: LiveTask): void {
    if (task.delayToken !== 0) task.delayToken++;
  }

  /** A run starts: its timeout, if it has one, starts counting. */
  startRun(task: LiveTask, now: number): void {
    task.timedOut = false;
    const timeoutMs = task.limits.timeoutMs;
    if (timeoutMs === null) return;
    task.deadline = now + timeoutMs;
    this.deadlines.add(task, task.deadline, ++task.deadlineToken);
  }

  pauseRun(task: LiveTask, now: number): void {
    if (task.limits.timeoutMs === null) return;
    task.remainingMs = Math.max(0, task.deadline - now);
    task.deadlineToken++;
  }

  resumeRun(task: LiveTask, now: number): void {
    if (task.limits.timeoutMs === null) return;
    task.deadline = now + task.remainingMs;
    this.deadlines.add(task, task.deadline, ++task.deadlineToken);
  }

  /** As undelay: a token at 0, no deadline was ever armed. */
  endRun(task: LiveTask): void {
    if (task.deadlineToken !== 0) task.deadlineToken++;
  }

  clear(): void {
    this.delays.clear();
    this.deadlines.clear();
  }
}
