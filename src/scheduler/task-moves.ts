/**
 * The moves of the state owner (./task-states.ts), and what each move sets off: the row
 * patch to the store writer, the event to the bus, the waiters settled, the timers armed
 * or let go, the children of a finished parent released or cancelled.
 *
 * It holds the live tasks (the ledger), the heap of ready ones, the counts by status, the
 * dedupe keys, the dependency graph and the timers (delays, deadlines, aging). It is the
 * state owner's own part: only TaskStateMachine holds one, and it decides which move to
 * make; this class makes it, checked against the one transition table (./transitions.ts).
 */
import { deserialize } from 'node:v8';
import { InvalidTransitionError, RuntimeClosedError } from '../errors.js';
import { EncodedValue } from '../store/encoded.js';
import type { TaskPatch } from '../store/task-store.js';
import type { WriteBatcher } from '../store/write-batcher.js';
import type { MetricsRecorder } from '../streams/metrics.js';
import { ProgressCoalescer } from '../streams/progress-coalescer.js';
import { TaskOutputs } from '../streams/task-outputs.js';
import type { StoredEvents } from '../streams/stored-events.js';
import { PRIORITIES, type TaskError, type TaskEvent, type TaskFilter } from '../types.js';
import type { ProgressReport } from '../workers/protocol.js';
import { retryDelay } from './backoff.js';
import { DependencyGraph, type ParentState } from './dependencies.js';
import { settle, type LiveTask, type Phase } from './live-task.js';
import type { TaskRunner } from './ports.js';
import { selectLive } from './select-live.js';
import { settleEnd } from './task-endings.js';
import { FairTurns } from './fair-turns.js';
import { TaskLedger } from './task-ledger.js';
import { TaskQueue } from './task-queue.js';
import { TaskTimers } from './task-timers.js';
import { TimerQueue } from './timer-queue.js';
import { canMove } from './transitions.js';

export interface TaskMovesOptions {
  writer: WriteBatcher;
  /** Where its events go: the bus, each end once it is stored. */
  events: StoredEvents;
  metrics: MetricsRecorder;
  progressIntervalMs: number;
  /** Raise a waiting task one level each this many ms; null: no aging. */
  agingMs: number | null;
  /** Told of every finished task, so finished rows can be removed once their retention is up. */
  retention: { notifyFinished(status: FinishedStatus, completedAt: number): void };
}

export type FinishedStatus = 'completed' | 'failed' | 'cancelled';
type Counted = 'queued' | 'running' | 'paused';

const TOP_RANK = PRIORITIES.length - 1;

export class TaskMoves {
  readonly #live = new TaskLedger<LiveTask>();
  readonly #ready = new TaskQueue<LiveTask>();
  readonly #turns = new FairTurns();
  /** A task admitted since the dispatcher last asked is owed a place ahead of tasks already sent (see FairTurns). */
  #owed = false;
  readonly #counts: Record<Counted, number> = { queued: 0, running: 0, paused: 0 };
  /** The live tasks that are not stored (durable: false): what list and stats add to the store's. */
  readonly #unstored = new Set<LiveTask>();
  /** Dedupe keys of unfinished tasks. */
  readonly #keys = new Map<string, LiveTask>();
  readonly #dependencies = new DependencyGraph();
  readonly #timers: TaskTimers;
  readonly #aging: TimerQueue<LiveTask>;
  readonly #progress: ProgressCoalescer;
  readonly #idleWaiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  /** What handlers emit (ctx.emit), on its way to the tasks' readers. */
  readonly outputs: TaskOutputs;
  readonly #options: TaskMovesOptions;
  /** The runner (the dispatcher), bound after both are made. */
  readonly #runner: () => TaskRunner;

  /** Told of every task that finishes (the owner's backlog of rows on disk keeps their ids while it loads). */
  readonly #ended: (task: LiveTask) => void;

  constructor(options: TaskMovesOptions, runner: () => TaskRunner, ended: (task: LiveTask) => void) {
    this.#options = options;
    this.#runner = runner;
    this.#ended = ended;
    this.outputs = new TaskOutputs((id, count) => {
      const task = this.#live.get(id);
      if (task !== undefined) runner().consumeOutput(task, count);
    });
    this.#progress = new ProgressCoalescer(options.progressIntervalMs, (id, report) => this.#applyProgress(id, report));
    this.#timers = new TaskTimers(
      (task) => this.release(task),
      (task) => this.#timeOut(task),
    );
    this.#aging = new TimerQueue<LiveTask>(
      (task) => this.#age(task),
      (task) => task.agingToken,
    );
  }

  // ---- the live tasks ------------------------------------------------------------------

  get(id: string): LiveTask | undefined {
    return this.#live.get(id);
  }

  /** The live tasks a `list` filter matches, newest first. */
  select(filter: TaskFilter): LiveTask[] {
    return selectLive(this.#live.values(), filter);
  }

  /** The live tasks that are not stored, as a `list` filter picks them (unsorted without limit or offset). */
  selectUnstored(filter: TaskFilter): LiveTask[] {
    return this.#unstored.size === 0 ? [] : selectLive(this.#unstored, filter);
  }

  /** The live tasks that are not stored. */
  unstoredTasks(): Iterable<LiveTask> {
    return this.#unstored;
  }

  /** The ids of the live tasks (those `which` picks). */
  ids(which?: (task: LiveTask) => boolean): string[] {
    const ids: string[] = [];
    for (const task of this.#live.values()) if (which === undefined || which(task)) ids.push(task.id);
    return ids;
  }

  count(status: Counted): number {
    return this.#counts[status];
  }

  /** The unfinished task that holds a dedupe key, if any. */
  holderOf(key: string): LiveTask | undefined {
    return this.#keys.get(key);
  }

  /** A new or recovered task joins the live ones (its phase says where it is counted). */
  admit(task: LiveTask, restored = false): void {
    task.turn = restored ? this.#turns.restored(task.relations.group, task.seq) : this.#turns.assign(task.relations.group);
    if (!restored && this.#turns.owedAhead(task.turn)) this.#owed = true;
    this.#live.add(task.id, task);
    if (!task.durable) this.#unstored.add(task);
    if (task.relations.key !== null) this.#keys.set(task.relations.key, task);
    this.#counts[task.status as Counted]++;
  }

  /** A reopened file's tasks are read back: see FairTurns.reopened. */
  reopened(nextSeq: number): void {
    this.#turns.reopened(nextSeq);
  }

  peek(): LiveTask | undefined {
    return this.#ready.peek();
  }

  pop(): LiveTask | undefined {
    const task = this.#ready.pop();
    if (task !== undefined) this.#turns.taken(task.turn);
    return task;
  }

  /** Whether a task admitted since the last ask is owed a place ahead of tasks sent and not begun; answers once. */
  owedPlace(): boolean {
    const owed = this.#owed;
    this.#owed = false;
    return owed;
  }

  /** Back into the heap as it was, without aging anew (a task parked at its type's cap). */
  putBack(task: LiveTask): void {
    this.#ready.push(task);
  }

  /** Resolves once nothing is queued or running, and the ends that made it so are stored (and told). */
  whenIdle(): Promise<void> {
    if (this.#counts.queued + this.#counts.running === 0) return new Promise((resolve) => this.#options.writer.afterCommit(() => resolve()));
    return new Promise((resolve, reject) => this.#idleWaiters.push({ resolve, reject }));
  }

  // ---- timers and reports of a run ------------------------------------------------------

  /**
   * A debounced submit of a task's key: if it has not started (waiting, delayed, held or
   * blocked), its payload becomes the new one and it starts no earlier than `runAt`; false
   * if it is on a thread already (then the caller queues a new task).
   */
  debounce(task: LiveTask, payload: unknown, encoded: unknown, runAt: number, now: number): boolean {
    const { phase } = task;
    if (phase !== 'waiting' && phase !== 'scheduled' && phase !== 'held' && phase !== 'blocked') return false;
    task.payload = payload;
    task.runAt = runAt;
    // No payload is stored as a null one: a NULL column would read as the old row's.
    const patch = { payload: encoded ?? null, runAt };
    if (phase === 'waiting') {
      // Out of the heap (its entry goes stale) and onto the delay timer.
      this.move(task, 'scheduled', patch, now);
      this.#timers.delay(task, runAt);
      return true;
    }
    // A new delay makes the pending one stale (TaskTimers.delay).
    if (phase === 'scheduled') this.#timers.delay(task, runAt);
    this.move(task, phase, patch, now);
    return true;
  }

  /** A pending delay no longer fires. */
  undelay(task: LiveTask): void {
    this.#timers.undelay(task);
  }

  /** A run starts: its timeout, if it has one, starts counting. */
  startRun(task: LiveTask, at: number): void {
    this.#timers.startRun(task, at);
  }

  pauseRun(task: LiveTask, at: number): void {
    this.#timers.pauseRun(task, at);
  }

  resumeRun(task: LiveTask, at: number): void {
    this.#timers.resumeRun(task, at);
  }

  /** Progress, told at most once per `progressIntervalMs` per task (ProgressCoalescer). */
  progress(task: LiveTask, report: ProgressReport): void {
    this.#progress.push(task.id, report);
  }

  /** What a task reported and was not yet told is told now: before its next event. */
  flushProgress(task: LiveTask): void {
    this.#progress.flush(task.id);
  }

  /** The handler saved a checkpoint: kept for its next run, written with the batch (kept in memory only for a task that is not stored). */
  saveCheckpoint(task: LiveTask, state: Uint8Array): void {
    task.checkpoint = state;
    this.#writeRow(task, { checkpoint: new EncodedValue(state), updatedAt: Date.now() });
  }

  /** Nothing more happens: timers go, and everyone still waiting is told the runtime closed. */
  stop(): void {
    this.#progress.close();
    this.#timers.clear();
    this.#aging.clear();
    const closed = new RuntimeClosedError('wait for the task');
    for (const task of this.#live.values()) {
      if (task.resultWaiters !== undefined) {
        for (const waiter of task.resultWaiters) waiter.reject(closed);
        task.resultWaiters = undefined;
      }
      // Reading these makes nothing for the many tasks that never had them (see LiveTask).
      task.pauseWaiters = settle(task.pauseWaiters, closed);
      task.resumeWaiters = settle(task.resumeWaiters, closed);
      task.cancelWaiters = settle(task.cancelWaiters, closed);
    }
    for (const waiter of this.#idleWaiters.splice(0)) waiter.reject(new RuntimeClosedError('wait for idle'));
  }

  // ---- the moves -----------------------------------------------------------------------

  /**
   * Puts a new or recovered task where it belongs: held (paused), blocked on its parents,
   * delayed until runAt, or in the heap. A parent that already failed ends it at once.
   * `agedSince`: when its wait began for aging (a restored task: see Backlog.agedSince).
   */
  place(task: LiveTask, parents: ParentState[], now: number, agedSince = now): void {
    const failed = parents.length > 0 ? this.#dependencies.attach(task, parents) : undefined;
    if (failed !== undefined && task.relations.onParentFailure === 'cancel') {
      this.finish(task, 'cancelled', { error: failed }, now);
    } else if (task.phase === 'held') {
      // stays held; resume() finds it blocked, delayed or ready
    } else if (task.unfinishedParents > 0) {
      task.phase = 'blocked';
    } else if (task.runAt !== null && task.runAt > now) {
      task.phase = 'scheduled';
      this.#timers.delay(task, task.runAt);
    } else {
      task.phase = 'waiting';
      this.enqueue(task, agedSince);
    }
  }

  /**
   * Every change to a task's row goes through here: it joins the row's INSERT if that is
   * still waiting. A task that is not stored has no row: nothing is written.
   */
  #writeRow(task: LiveTask, patch: TaskPatch): void {
    if (task.durable) this.#options.writer.patch(task.id, patch, task.unwritten);
  }

  /** `shared` false: told on this host only (the event of a task that is not stored). */
  emit(event: TaskEvent, shared = true): void {
    const { events } = this.#options;
    if (events.observed) events.emit(event, shared);
  }

  /** Changes a live task's phase, checking the status move and keeping the counts. */
  move(task: LiveTask, phase: Phase, patch?: Omit<TaskPatch, 'status' | 'updatedAt'>, at = Date.now()): void {
    const from = task.status;
    task.phase = phase;
    const to = task.status;
    task.updatedAt = at;
    if (from !== to) {
      if (!canMove(from, to)) throw new InvalidTransitionError(task.id, from, `move to ${to}`);
      this.#counts[from as Counted]--;
      this.#counts[to as Counted]++;
      if (task.durable) this.#writeRow(task, { ...patch, status: to, updatedAt: at });
      this.#checkIdle();
    } else if (patch !== undefined && task.durable) {
      this.#writeRow(task, { ...patch, updatedAt: at });
    }
  }

  /**
   * Into the heap, to be dispatched. With aging, a task that waits `agingMs` is treated one
   * level higher each time, up to the top: a flood of high-priority work cannot starve it.
   */
  enqueue(task: LiveTask, at: number): void {
    this.#ready.push(task);
    const { agingMs } = this.#options;
    if (agingMs !== null && task.rank < TOP_RANK) this.#aging.add(task, at + agingMs, ++task.agingToken);
    this.#runner().wake();
  }

  /** Waited `agingMs` more: one level up, and back into the heap at its new place. */
  #age(task: LiveTask): void {
    if (task.phase !== 'waiting' || task.ended) return;
    task.rank = Math.min(TOP_RANK, task.rank + 1);
    this.enqueue(task, Date.now());
  }

  /** A scheduled task is due, or a held one is resumed: back into the heap. */
  release(task: LiveTask, at = Date.now()): void {
    this.#timers.undelay(task);
    task.runAt = null;
    this.move(task, 'waiting', { runAt: null }, at);
    this.enqueue(task, at);
  }

  /** Back into the heap, to run (again) from the start. */
  requeue(task: LiveTask): void {
    this.#timers.endRun(task);
    this.move(task, 'waiting');
    this.enqueue(task, Date.now());
  }

  /** A run's deadline has come: its thread is told to stop. */
  #timeOut(task: LiveTask): void {
    if (this.#live.get(task.id) !== task) return;
    if (task.phase !== 'running' && task.phase !== 'dispatched') return;
    if (this.#runner().stop(task)) task.timedOut = true;
  }

  /**
   * A run failed (the handler threw, its thread died, its time was up). If it has retries
   * left it is queued again after its backoff, with a `retrying` event; else it ends failed.
   */
  fail(task: LiveTask, error: TaskError, at = Date.now()): void {
    this.#timers.endRun(task);
    if (task.attempts > task.limits.retries || task.cancelRequested) {
      this.finish(task, 'failed', { error }, at);
      return;
    }
    const delayMs = retryDelay(task.limits.backoff, task.attempts);
    task.lastError = error;
    task.timedOut = false;
    // What the failed run reported is told before the retry.
    this.#progress.flush(task.id);
    this.emit({ type: 'retrying', taskId: task.id, taskType: task.type, at, attempt: task.attempts, error, delayMs }, task.durable);
    if (delayMs > 0) {
      this.move(task, 'scheduled', { error, attempts: task.attempts, startedAt: task.startedAt, runAt: at + delayMs }, at);
      this.#timers.delay(task, at + delayMs);
    } else {
      this.move(task, 'waiting', { error, attempts: task.attempts, startedAt: task.startedAt }, at);
      this.enqueue(task, at);
    }
  }

  markStarted(task: LiveTask, at: number): void {
    this.announceStart(task, at);
    this.move(task, 'running', { attempts: task.attempts, startedAt: at }, at);
  }

  /** Counts the attempt and tells listeners; the row learns it with the next patch. */
  announceStart(task: LiveTask, at: number): void {
    task.attempts++;
    task.startedAt = at;
    this.#turns.started(task.turn);
    this.emit({ type: 'started', taskId: task.id, taskType: task.type, at, attempt: task.attempts }, task.durable);
  }

  /** Undoes the start counted when a lone task was sent, for a task that never ran. */
  unstart(task: LiveTask): void {
    task.attempts--;
    task.startedAt = null;
    this.#writeRow(task, { attempts: task.attempts, startedAt: null, updatedAt: Date.now() });
  }

  /** Paused before it started: out of the heap until resumed. */
  hold(task: LiveTask): void {
    const at = Date.now();
    this.move(task, 'held', undefined, at);
    task.pauseRequested = false;
    task.pauseWaiters = settle(task.pauseWaiters);
    this.emit({ type: 'paused', taskId: task.id, taskType: task.type, at }, task.durable);
  }

  /** Where a resumed held task goes: back to its parents, its delay, or the heap. */
  unhold(task: LiveTask, at: number): void {
    if (task.unfinishedParents > 0) {
      this.move(task, 'blocked', undefined, at);
    } else if (task.runAt !== null && task.runAt > at) {
      this.move(task, 'scheduled', undefined, at);
      this.#timers.delay(task, task.runAt);
    } else {
      this.release(task, at);
    }
  }

  /** A child's last parent completed: it may run now (or at its runAt). */
  #unblock(child: LiveTask, at: number): void {
    if (child.phase !== 'blocked') return; // a held child is placed when it is resumed
    if (child.runAt !== null && child.runAt > at) {
      child.phase = 'scheduled';
      this.#timers.delay(child, child.runAt);
    } else {
      this.release(child, at);
    }
  }

  #applyProgress(id: string, report: ProgressReport): void {
    const task = this.#live.get(id);
    if (task === undefined) return;
    task.progress = report.progress;
    task.progressMessage = report.message;
    const at = Date.now();
    this.move(task, task.phase, { progress: report.progress, progressMessage: report.message }, at);
    this.emit({ type: 'progress', taskId: id, taskType: task.type, at, ...report }, task.durable);
  }

  /** Ends a task for good: row, event, and everyone waiting on it. */
  finish(task: LiveTask, status: FinishedStatus, outcome: { result?: Uint8Array | null; error?: TaskError }, at = Date.now()): void {
    if (!canMove(task.status, status)) throw new InvalidTransitionError(task.id, task.status, `finish as ${status}`);
    // What it reported last is told before its end.
    this.#progress.flush(task.id);
    this.#timers.endRun(task);
    this.#timers.undelay(task);
    task.ending = { status, result: outcome.result ?? null, error: outcome.error ?? null };
    this.#live.delete(task.id);
    this.outputs.ended(task.id);
    if (!task.durable) this.#unstored.delete(task);
    const { key } = task.relations;
    if (key !== null && this.#keys.get(key) === task) this.#keys.delete(key); // the key is free again
    this.#counts[task.status as Counted]--;
    if (status === 'completed') task.progress = 100;
    const { events, writer, retention, metrics } = this.#options;
    if (task.durable) {
      this.#writeRow(task, this.#endPatch(task, status, outcome, at));
      this.#ended(task);
      retention.notifyFinished(status, at);
    }
    const started = task.startedAt;
    metrics.record({
      type: task.type,
      priority: task.priority,
      status,
      runMs: started === null ? null : at - started,
      waitMs: started === null ? null : started - task.createdAt,
      at,
    });
    const hasChildren = this.#dependencies.hasChildren(task.id);
    const needsValue = status === 'completed' && (task.resultWaiters !== undefined || hasChildren);
    const value = needsValue && outcome.result != null ? deserialize(outcome.result) : undefined;
    if (events.observed) {
      const event =
        status === 'completed'
          ? completedEvent(task.id, task.type, at, outcome.result ?? null, needsValue, value)
          : { type: status, taskId: task.id, taskType: task.type, at, error: outcome.error! };
      // Told once stored, as result() is: an end a crash could undo is not told. One with
      // nothing to store is told now, behind any stored end still waiting (StoredEvents).
      if (task.durable) events.emitEnd(event);
      else events.emit(event, false);
    }
    if (task.resultWaiters !== undefined || task.hasControlWaiters) {
      // A result, or a cancel that succeeded, is promised only once the end is stored.
      // While the store is failing it waits, as the write does (see WriteBatcher.afterCommit).
      // Not stored: settled once its end event (and those before it) is told.
      if (task.durable) writer.afterCommit((failure) => settleEnd(task, status, value, outcome.error ?? null, failure), true);
      else if (!events.holding) settleEnd(task, status, value, outcome.error ?? null);
      else events.afterTold(() => settleEnd(task, status, value, outcome.error ?? null));
    }
    if (hasChildren) {
      this.#dependencies.parentFinished(
        task.id,
        status,
        { result: value, error: outcome.error },
        (child) => this.#unblock(child, at),
        (child, error) => this.finish(child, 'cancelled', { error }, at),
      );
    }
    this.#checkIdle();
  }

  #endPatch(task: LiveTask, status: FinishedStatus, outcome: { result?: Uint8Array | null; error?: TaskError }, at: number): TaskPatch {
    const patch: TaskPatch = {
      status,
      attempts: task.attempts,
      startedAt: task.startedAt,
      progress: task.progress,
      result: outcome.result == null ? null : new EncodedValue(outcome.result),
      error: outcome.error ?? null,
      completedAt: at,
      updatedAt: at,
    };
    // A completed task's saved state is of no more use; a failed one keeps it for inspection.
    if (status === 'completed' && task.checkpoint !== null) patch.checkpoint = null;
    return patch;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#counts.queued + this.#counts.running > 0) return;
    const waiters = this.#idleWaiters.splice(0);
    this.#options.writer.afterCommit(() => {
      for (const waiter of waiters) waiter.resolve();
    });
  }
}

/**
 * A `completed` event. Its result is decoded when first read, unless it was decoded already
 * (someone awaits it): a listener that only counts ends (a dashboard, a progress bar) does
 * not pay a deserialization per task. Read once, it is the same object for every listener.
 */
function completedEvent(taskId: string, taskType: string, at: number, bytes: Uint8Array | null, decoded: boolean, value: unknown): TaskEvent {
  if (decoded || bytes === null) return { type: 'completed', taskId, taskType, at, result: decoded ? value : undefined };
  let result: unknown;
  let read = false;
  const event = { type: 'completed', taskId, taskType, at } as Extract<TaskEvent, { type: 'completed' }>;
  Object.defineProperty(event, 'result', {
    enumerable: true,
    get(): unknown {
      if (!read) {
        result = deserialize(bytes);
        read = true;
      }
      return result;
    },
  });
  return event;
}
