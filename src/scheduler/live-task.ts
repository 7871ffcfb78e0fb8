/**
 * The host's in-memory record of an unfinished task. The store row is the truth; this is
 * its working copy, dropped once the task finishes.
 *
 * `phase` says more than the status, for the scheduler's sake:
 *   waiting     queued, in the heap
 *   scheduled   queued, not before `runAt` (a delayed task, a retry's backoff); in the delay timer queue
 *   blocked     queued, waiting for its parents (dependsOn) to finish
 *   dispatched  queued, sent to a worker in a batch or ahead, not yet known to have started
 *   running     running (a batch of one: the host counts it as started when sent)
 *   held        paused before it started; out of the heap until resumed
 *   suspended   paused: its thread sleeps at a checkpoint
 */
import { PRIORITIES, type Backoff, type Priority, type Task, type TaskError, type TaskStatus } from '../types.js';
import type { NewTaskRecord } from '../store/task-store.js';
import type { TaskOutcome } from '../workers/protocol.js';
import type { Queueable } from './task-queue.js';

export const CANCELLED: TaskError = { code: 'ERR_TASK_CANCELLED', message: 'The task was cancelled.' };

export type Phase = 'waiting' | 'scheduled' | 'blocked' | 'dispatched' | 'running' | 'held' | 'suspended';

const STATUS_OF: Readonly<Record<Phase, TaskStatus>> = {
  waiting: 'queued',
  scheduled: 'queued',
  blocked: 'queued',
  dispatched: 'queued',
  running: 'running',
  held: 'paused',
  suspended: 'paused',
};

export interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export interface ResultWaiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One call to a worker: the tasks it carries and the control slot each borrowed. */
export interface Call {
  tasks: LiveTask[];
  slots: number[];
  /** Outcomes held back until their task's last messages arrive; the call ends after them. */
  held: number;
  /** Sent while every thread had a call: queued behind one, its tasks not started yet. */
  ahead: boolean;
  /** Its tasks may be taken back for a higher-priority one (not a batch of short tasks). */
  revocable: boolean;
  /** The lowest rank among its tasks that may still be taken back for a higher one. */
  lowRank: number;
}

/** What a task may take: kept on its row, so a re-queued task keeps them. */
export interface TaskLimits {
  timeoutMs: number | null;
  retries: number;
  backoff: Backoff | null;
}

/** How a task relates to others: kept on its row. */
export interface TaskRelations {
  key: string | null;
  dependsOn: string[];
  onParentFailure: 'cancel' | 'run';
}

/** How a task ended, kept for the handles that still hold it (see TaskHandle.result). */
export interface Ending {
  status: 'completed' | 'failed' | 'cancelled';
  /** The result's v8 bytes (completed with a value), else null. */
  result: Uint8Array | null;
  error: TaskError | null;
}

/**
 * The fields most tasks never use (timers, retries, dependencies, checkpoints, pause and
 * cancel requests, waiters other than result()). They live in one object made on first
 * write, so a plain queued task is ~150 B smaller: a million queued tasks, and every burst
 * of new ones the garbage collector has to copy, carry less. LiveTask reads and writes them
 * as if they were its own (accessors below); writing a field's default makes nothing.
 */
class TaskExtras {
  /** A pause was asked of the running thread and not yet acknowledged. */
  pauseRequested = false;
  cancelRequested = false;
  /** An outcome that arrived before all of the run's messages; applied once they are in. */
  earlyOutcome: TaskOutcome | undefined = undefined;
  /** When a scheduled task is due (epoch ms), else null. */
  runAt: number | null = null;
  /** Bumped whenever a pending delay should no longer fire (see TimerQueue). */
  delayToken = 0;
  /** Epoch ms at which the current run times out, if it has a timeout and is not paused. */
  deadline = 0;
  deadlineToken = 0;
  /** Bumped each time it enters the heap, so an older aging entry no longer fires. */
  agingToken = 0;
  /** What was left of the timeout when the run was paused at a checkpoint. */
  remainingMs = 0;
  /** The last durable checkpoint the handler saved (v8 bytes), handed to its next run. */
  checkpoint: Uint8Array | null = null;
  /** Parents not finished yet (phase `blocked` while > 0). */
  unfinishedParents = 0;
  /** Results of completed parents and errors of failed ones, read when it becomes ready. */
  dependencies: Record<string, unknown> | undefined = undefined;
  failedDependencies: Record<string, TaskError> | undefined = undefined;
  /** Why the last run failed, while the task waits for its retry. */
  lastError: TaskError | null = null;
  /** The run was stopped because its time was up (not because someone cancelled it). */
  timedOut = false;
  graceTimer: NodeJS.Timeout | undefined = undefined;
  pauseWaiters: Waiter[] | undefined = undefined;
  resumeWaiters: Waiter[] | undefined = undefined;
  cancelWaiters: Waiter[] | undefined = undefined;
}

const EXTRA_DEFAULTS = new TaskExtras();

export class LiveTask implements Queueable, NewTaskRecord {
  phase: Phase;
  rank: number;
  queueVersion = 0;
  /** Control slot while sent to a worker, else -1. */
  slot = -1;
  progress = 0;
  progressMessage: string | null = null;
  startedAt: number | null = null;
  updatedAt: number;
  /** Messages received from the current run's thread (see TaskOutcome.posted). */
  received = 0;
  /** The call that carries it while it is sent to a worker. */
  call: Call | undefined = undefined;
  /** How it ended, once it has (see `ended`). */
  ending: Ending | undefined = undefined;
  /** Where its row waits to be written (WriteBatcher.insert), so early changes join it. */
  unwritten = -1;
  /** Kept here, not in the extras: most callers of submit() await result(). */
  resultWaiters: ResultWaiter[] | undefined = undefined;
  /** The rarely used fields (see TaskExtras), once one of them has been set. */
  extras: TaskExtras | undefined = undefined;

  // Accessors on the prototype, defined below the class, backed by `extras`.
  declare pauseRequested: boolean;
  declare cancelRequested: boolean;
  declare earlyOutcome: TaskOutcome | undefined;
  declare runAt: number | null;
  declare delayToken: number;
  declare deadline: number;
  declare deadlineToken: number;
  declare agingToken: number;
  declare remainingMs: number;
  declare checkpoint: Uint8Array | null;
  declare unfinishedParents: number;
  declare dependencies: Record<string, unknown> | undefined;
  declare failedDependencies: Record<string, TaskError> | undefined;
  declare lastError: TaskError | null;
  declare timedOut: boolean;
  declare graceTimer: NodeJS.Timeout | undefined;
  declare pauseWaiters: Waiter[] | undefined;
  declare resumeWaiters: Waiter[] | undefined;
  declare cancelWaiters: Waiter[] | undefined;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly seq: number,
    public priority: Priority,
    readonly name: string | null,
    readonly description: string | null,
    readonly payload: unknown,
    readonly createdAt: number,
    public attempts: number,
    phase: Phase,
    readonly limits: TaskLimits,
    readonly relations: TaskRelations,
  ) {
    this.phase = phase;
    this.rank = PRIORITIES.indexOf(priority);
    this.updatedAt = createdAt;
  }

  get status(): TaskStatus {
    return STATUS_OF[this.phase];
  }

  // The rest of NewTaskRecord, read where the limits and relations are kept.
  get timeoutMs(): number | null {
    return this.limits.timeoutMs;
  }

  get retries(): number {
    return this.limits.retries;
  }

  get backoff(): Backoff | null {
    return this.limits.backoff;
  }

  get key(): string | null {
    return this.relations.key;
  }

  get dependsOn(): readonly string[] {
    return this.relations.dependsOn;
  }

  get onParentFailure(): TaskRelations['onParentFailure'] {
    return this.relations.onParentFailure;
  }

  /** Finished: no longer live, whatever an old heap entry or batch still says. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  get waiting(): boolean {
    return this.phase === 'waiting' && !this.ended;
  }

  snapshot(): Task {
    return {
      id: this.id,
      type: this.type,
      name: this.name,
      description: this.description,
      priority: this.priority,
      status: this.status,
      progress: this.progress,
      progressMessage: this.progressMessage,
      payload: this.payload,
      result: null,
      error: this.lastError,
      attempts: this.attempts,
      createdAt: this.createdAt,
      startedAt: this.startedAt,
      completedAt: null,
      updatedAt: this.updatedAt,
      runAt: this.runAt,
      ...this.limits,
      ...this.relations,
    };
  }
}

for (const key of Object.keys(EXTRA_DEFAULTS) as Array<keyof TaskExtras>) {
  const fallback = EXTRA_DEFAULTS[key];
  Object.defineProperty(LiveTask.prototype, key, {
    get(this: LiveTask) {
      const extras = this.extras;
      return extras === undefined ? fallback : extras[key];
    },
    set(this: LiveTask, value: unknown) {
      let extras = this.extras;
      if (extras === undefined) {
        if (value === fallback) return;
        extras = this.extras = new TaskExtras();
      }
      (extras as unknown as Record<string, unknown>)[key] = value;
    },
  });
}

/** Settles every waiter of a list and empties it. */
export function settle(waiters: Waiter[] | undefined, error?: unknown): undefined {
  if (waiters === undefined) return undefined;
  for (const waiter of waiters) {
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
  return undefined;
}
