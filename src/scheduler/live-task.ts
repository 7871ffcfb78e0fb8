/**
 * The host's in-memory record of a task this host holds. The store row is the truth; this
 * is its working copy, dropped once the task finishes.
 *
 * `phase` says more than the status, for the scheduler's sake:
 *   waiting     queued, in the heap
 *   scheduled   queued, not before `runAt` (a delayed task, a retry's backoff); in the delay timer queue
 *   blocked     queued, waiting for its parents (dependsOn) to finish
 *   dispatched  queued, sent to a worker in a batch or ahead, not yet known to have started
 *   running     running (a batch of one: the host counts it as started when sent)
 *   held        paused before it started; out of the heap until resumed
 *   suspended   paused: its thread sleeps at a checkpoint
 *
 * Only the state owner (./task-states.ts) changes the phase and the fields that follow
 * from it; the dispatcher keeps its own bookkeeping of a sent task in `slot`, `call` and
 * `received`.
 */
import { PRIORITIES, type Backoff, type Priority, type Task, type TaskError, type TaskStatus } from '../types.js';
import type { NewTaskRecord } from '../store/task-store.js';
import type { Queueable } from './task-queue.js';
import type { TaskMessages } from '../streams/task-messages.js';

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
  /** One call of a batch handler (defineBatchTask): its tasks run together, in one handler call. */
  handlerBatch: boolean;
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
  /** Its group (SubmitOptions.group), or null. */
  group: string | null;
}

/** How a task ended, kept for the handles that still hold it (see TaskHandle.result). */
export interface Ending {
  status: 'completed' | 'failed' | 'cancelled';
  /** The result's v8 bytes (completed with a value), else null. */
  result: Uint8Array | null;
  error: TaskError | null;
}

/** What a LiveTask is made of: a new task's checked submit, or a row read back from the store. */
export interface LiveTaskFields {
  id: string;
  type: string;
  seq: number;
  priority: Priority;
  name: string | null;
  description: string | null;
  payload: unknown;
  createdAt: number;
  attempts: number;
  phase: Phase;
  limits: TaskLimits;
  relations: TaskRelations;
  /** False for a task never written to the store (SubmitOptions.durable); recovered ones are stored. */
  durable?: boolean;
}

/**
 * The fields most tasks never use (timers, retries, dependencies, checkpoints, pause and
 * cancel requests, waiters other than result()). They live in one object made on first
 * write, so a plain queued task is ~150 B smaller: a million queued tasks, and every burst
 * of new ones the garbage collector has to copy, carry less. A private matter of LiveTask:
 * its accessors read a missing object as the defaults, and writing a default makes nothing.
 */
class TaskExtras {
  pauseRequested: boolean = false;
  cancelRequested: boolean = false;
  timedOut: boolean = false;
  runAt: number | null = null;
  delayToken: number = 0;
  deadline: number = 0;
  deadlineToken: number = 0;
  remainingMs: number = 0;
  agingToken: number = 0;
  checkpoint: Uint8Array | null = null;
  lastError: TaskError | null = null;
  unfinishedParents: number = 0;
  dependencies: Record<string, unknown> | undefined = undefined;
  failedDependencies: Record<string, TaskError> | undefined = undefined;
  pauseWaiters: Waiter[] | undefined = undefined;
  resumeWaiters: Waiter[] | undefined = undefined;
  cancelWaiters: Waiter[] | undefined = undefined;
  messages: TaskMessages | undefined = undefined;
  traceContext: unknown = undefined;
}

export class LiveTask implements Queueable, NewTaskRecord {
  readonly id: string;
  readonly type: string;
  readonly seq: number;
  priority: Priority;
  readonly name: string | null;
  readonly description: string | null;
  /** Replaced by a debounced submit of its key while it has not started. */
  payload: unknown;
  readonly createdAt: number;
  readonly limits: TaskLimits;
  readonly relations: TaskRelations;
  /** Has a row: false for a task kept in memory only, which writes nothing and is forgotten once it ends. */
  readonly durable: boolean;
  attempts: number;
  phase: Phase;
  rank: number;
  /** Its place in its group's round-robin (./fair-turns.ts), given when it is admitted. */
  turn = 0;
  queueVersion = 0;
  progress = 0;
  progressMessage: string | null = null;
  startedAt: number | null = null;
  updatedAt: number;
  /** How it ended, once it has (see `ended`). */
  ending: Ending | undefined = undefined;
  /** Where its row waits to be written (WriteBatcher.insert), so early changes join it. */
  unwritten = -1;
  /** Kept here, not in the extras: most callers of submit() await result(). */
  resultWaiters: ResultWaiter[] | undefined = undefined;
  /** The dispatcher's: the control slot while sent to a worker, else -1. */
  slot = -1;
  /** The dispatcher's: the call that carries it while it is sent to a worker. */
  call: Call | undefined = undefined;
  /** The dispatcher's: messages received from the current run's thread (see TaskOutcome.posted). */
  received = 0;
  #extras: TaskExtras | undefined = undefined;

  constructor(fields: LiveTaskFields) {
    this.id = fields.id;
    this.type = fields.type;
    this.seq = fields.seq;
    this.priority = fields.priority;
    this.name = fields.name;
    this.description = fields.description;
    this.payload = fields.payload;
    this.createdAt = fields.createdAt;
    this.limits = fields.limits;
    this.relations = fields.relations;
    this.durable = fields.durable !== false;
    this.attempts = fields.attempts;
    this.phase = fields.phase;
    this.rank = PRIORITIES.indexOf(fields.priority);
    this.updatedAt = fields.createdAt;
  }

  /** A pause was asked of the running thread and not yet acknowledged. */
  get pauseRequested(): boolean { return this.#extras?.pauseRequested ?? false; }
  set pauseRequested(value: boolean) { if (value !== false || this.#extras !== undefined) this.#more().pauseRequested = value; }
  /** A cancel was asked of the running thread. */
  get cancelRequested(): boolean { return this.#extras?.cancelRequested ?? false; }
  set cancelRequested(value: boolean) { if (value !== false || this.#extras !== undefined) this.#more().cancelRequested = value; }
  /** The run was stopped because its time was up (not because someone cancelled it). */
  get timedOut(): boolean { return this.#extras?.timedOut ?? false; }
  set timedOut(value: boolean) { if (value !== false || this.#extras !== undefined) this.#more().timedOut = value; }
  /** When a scheduled task is due (epoch ms), else null. */
  get runAt(): number | null { return this.#extras?.runAt ?? null; }
  set runAt(value: number | null) { if (value !== null || this.#extras !== undefined) this.#more().runAt = value; }
  /** Bumped whenever a pending delay should no longer fire (see TimerQueue). */
  get delayToken(): number { return this.#extras?.delayToken ?? 0; }
  set delayToken(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().delayToken = value; }
  /** Epoch ms at which the current run times out, if it has a timeout and is not paused. */
  get deadline(): number { return this.#extras?.deadline ?? 0; }
  set deadline(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().deadline = value; }
  /** Bumped whenever a pending deadline should no longer fire. */
  get deadlineToken(): number { return this.#extras?.deadlineToken ?? 0; }
  set deadlineToken(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().deadlineToken = value; }
  /** What was left of the timeout when the run was paused at a checkpoint. */
  get remainingMs(): number { return this.#extras?.remainingMs ?? 0; }
  set remainingMs(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().remainingMs = value; }
  /** Bumped each time it enters the heap, so an older aging entry no longer fires. */
  get agingToken(): number { return this.#extras?.agingToken ?? 0; }
  set agingToken(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().agingToken = value; }
  /** The last durable checkpoint the handler saved (v8 bytes), handed to its next run. */
  get checkpoint(): Uint8Array | null { return this.#extras?.checkpoint ?? null; }
  set checkpoint(value: Uint8Array | null) { if (value !== null || this.#extras !== undefined) this.#more().checkpoint = value; }
  /** Why the last run failed, while the task waits for its retry. */
  get lastError(): TaskError | null { return this.#extras?.lastError ?? null; }
  set lastError(value: TaskError | null) { if (value !== null || this.#extras !== undefined) this.#more().lastError = value; }
  /** Parents not finished yet (phase `blocked` while > 0). */
  get unfinishedParents(): number { return this.#extras?.unfinishedParents ?? 0; }
  set unfinishedParents(value: number) { if (value !== 0 || this.#extras !== undefined) this.#more().unfinishedParents = value; }
  /** Results of completed parents, read when it becomes ready. */
  get dependencies(): Record<string, unknown> | undefined { return this.#extras?.dependencies; }
  set dependencies(value: Record<string, unknown> | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().dependencies = value; }
  /** Errors of parents that failed or were cancelled. */
  get failedDependencies(): Record<string, TaskError> | undefined { return this.#extras?.failedDependencies; }
  set failedDependencies(value: Record<string, TaskError> | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().failedDependencies = value; }
  /** Callers of pause(), resume() and cancel() waiting for the thread to act. */
  get pauseWaiters(): Waiter[] | undefined { return this.#extras?.pauseWaiters; }
  set pauseWaiters(value: Waiter[] | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().pauseWaiters = value; }
  get resumeWaiters(): Waiter[] | undefined { return this.#extras?.resumeWaiters; }
  set resumeWaiters(value: Waiter[] | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().resumeWaiters = value; }
  get cancelWaiters(): Waiter[] | undefined { return this.#extras?.cancelWaiters; }
  set cancelWaiters(value: Waiter[] | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().cancelWaiters = value; }
  /** What `rt.send` sends to the current run (rarely made: only for tasks sent a message or reading them). */
  get messages(): TaskMessages | undefined { return this.#extras?.messages; }
  set messages(value: TaskMessages | undefined) { if (value !== undefined || this.#extras !== undefined) this.#more().messages = value; }

  /**
   * The OpenTelemetry context active when it was submitted, if that held a span: the parent
   * of its runs' spans (src/telemetry/task-spans.ts). In memory only: a recovered task has none.
   */
  get traceContext(): unknown { return this.#extras?.traceContext; }
  set traceContext(value: unknown) { if (value !== undefined || this.#extras !== undefined) this.#more().traceContext = value; }

  /** Whether a pause, resume or cancel call waits on this task. */
  get hasControlWaiters(): boolean {
    const extras = this.#extras;
    return extras !== undefined && (extras.pauseWaiters !== undefined || extras.resumeWaiters !== undefined || extras.cancelWaiters !== undefined);
  }

  /** Whether any rarely used field has been written (its object made). */
  get usesExtras(): boolean {
    return this.#extras !== undefined;
  }

  #more(): TaskExtras {
    return (this.#extras ??= new TaskExtras());
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

  get group(): string | null {
    return this.relations.group;
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

/** Settles every waiter of a list and empties it. */
export function settle(waiters: Waiter[] | undefined, error?: unknown): undefined {
  if (waiters === undefined) return undefined;
  for (const waiter of waiters) {
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
  return undefined;
}
