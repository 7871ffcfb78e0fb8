/**
 * The state owner: the one place a live task's status changes.
 *
 * It holds the tasks this host has taken on (the ledger), the heap of ready ones, the counts
 * by status, the dedupe keys, the dependency graph and the timers (delays, deadlines, aging),
 * and it decides every move: a submit, a run that starts, ends, fails or dies with its
 * thread, a pause, resume, cancel or new priority. Each move is checked against the one
 * transition table (./transitions.ts), then its effects go out in this order: the row patch
 * to the store writer, the event to the bus, the waiters settled.
 *
 * Threads are the runner's business (the dispatcher): the owner asks it through the
 * TaskRunner port and hears back through DispatchSource (./ports.ts). The owner does not
 * assume it holds every task of the store: with the SQLite store one host owns them all;
 * a shared store hands it those it claimed (docs/design.md, "The store seam").
 */
import { deserialize } from 'node:v8';
import { InvalidTransitionError, RuntimeClosedError } from '../errors.js';
import { EncodedValue } from '../store/encoded.js';
import type { StoredTask, TaskPatch } from '../store/task-store.js';
import type { WriteBatcher } from '../store/write-batcher.js';
import type { EventBus } from '../streams/event-bus.js';
import type { MetricsRecorder } from '../streams/metrics.js';
import { ProgressCoalescer } from '../streams/progress-coalescer.js';
import { PRIORITIES, type Priority, type TaskError, type TaskFilter } from '../types.js';
import { TurnBudget } from '../turns.js';
import type { ProgressReport, TaskOutcome } from '../workers/protocol.js';
import { retryDelay } from './backoff.js';
import { DependencyGraph, type ParentState } from './dependencies.js';
import { LiveTask, settle, type Phase, type TaskLimits, type TaskRelations } from './live-task.js';
import type { DispatchSource, RunReport, TaskRunner } from './ports.js';
import { RestoredShapes } from './restored-shapes.js';
import { selectLive } from './select-live.js';
import { CANCELLED, MISSING_PARENT, settleControlWaiters, settledError, timeoutError, waitFor } from './task-endings.js';
import { TaskLedger } from './task-ledger.js';
import { newTaskId } from './task-id.js';
import { TaskQueue } from './task-queue.js';
import { TaskTimers } from './task-timers.js';
import { TimerQueue } from './timer-queue.js';
import { canMove } from './transitions.js';

export interface TaskStatesOptions {
  writer: WriteBatcher;
  bus: EventBus;
  metrics: MetricsRecorder;
  progressIntervalMs: number;
  /** Raise a waiting task one level each this many ms; null: no aging. */
  agingMs: number | null;
  /** Told of every finished task, so finished rows can be removed once their retention is up. */
  retention: { notifyFinished(status: FinishedStatus, completedAt: number): void };
}

export interface NewTask {
  type: string;
  payload: unknown;
  /** The payload in the store's encoding; undefined for no payload. */
  encodedPayload: EncodedValue | undefined;
  name: string | null;
  description: string | null;
  priority: Priority;
  limits: TaskLimits;
  relations: TaskRelations;
  /** Not before this epoch ms, or null. */
  runAt: number | null;
  /** The states of its dependsOn parents, looked up by the runtime. */
  parents: ParentState[];
}

type FinishedStatus = 'completed' | 'failed' | 'cancelled';
type Counted = 'queued' | 'running' | 'paused';

const TOP_RANK = PRIORITIES.length - 1;
const NO_PARENTS: ParentState[] = [];

/** Until a runner is bound (during open), nothing runs. */
const NO_RUNNER: TaskRunner = {
  wake: () => {},
  takeBack: () => true,
  signal: () => {},
  stop: () => false,
  syncStarts: () => {},
  settled: () => Promise.resolve(),
  close: () => {},
};

export class TaskStateMachine implements DispatchSource {
  readonly #live = new TaskLedger<LiveTask>();
  readonly #ready = new TaskQueue<LiveTask>();
  readonly #counts: Record<Counted, number> = { queued: 0, running: 0, paused: 0 };
  /** Dedupe keys of unfinished tasks. */
  readonly #keys = new Map<string, LiveTask>();
  readonly #dependencies = new DependencyGraph();
  readonly #timers: TaskTimers;
  readonly #aging: TimerQueue<LiveTask>;
  readonly #progress: ProgressCoalescer;
  readonly #idleWaiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  readonly #options: TaskStatesOptions;
  #runner: TaskRunner = NO_RUNNER;
  #nextSeq = 1;
  /** 'restoring' (at open), 'open', then 'draining' (graceful close), then 'stopped' (nothing more is written). */
  #state: 'restoring' | 'open' | 'draining' | 'stopped' = 'open';

  constructor(options: TaskStatesOptions) {
    this.#options = options;
    this.#progress = new ProgressCoalescer(options.progressIntervalMs, (id, report) => this.#applyProgress(id, report));
    this.#timers = new TaskTimers(
      (task) => this.#release(task),
      (task) => this.#timeOut(task),
    );
    this.#aging = new TimerQueue<LiveTask>(
      (task) => this.#age(task),
      (task) => task.agingToken,
    );
  }

  /** The runner that takes ready tasks to threads; bound once, while the runtime opens. */
  bindRunner(runner: TaskRunner): void {
    this.#runner = runner;
  }

  get dispatching(): boolean {
    return this.#state === 'open';
  }

  // ---- what the runtime reads --------------------------------------------------------

  get(id: string): LiveTask | undefined {
    return this.#live.get(id);
  }

  /** The live tasks a `list` filter matches, newest first (for the batch operations). */
  select(filter: TaskFilter): LiveTask[] {
    return selectLive(this.#live.values(), filter);
  }

  /** Resolves once everything changed so far is committed (a submit's or a command's promise). */
  durable(): Promise<void> {
    return this.#options.writer.ack();
  }

  /** Nothing is committed until the returned release is called: what is added meanwhile shares one transaction. */
  holdWrites(): () => void {
    return this.#options.writer.hold();
  }

  /** Commits what is waiting, tasks that threads began included, so a read sees every change announced. */
  beforeRead(): Promise<void> {
    if (this.#state !== 'stopped') this.#runner.syncStarts();
    return this.#options.writer.flush();
  }

  /** One task's latest state, for a read of it (a task its thread began is found running). */
  snapshot(task: LiveTask): ReturnType<LiveTask['snapshot']> {
    if (this.#state !== 'stopped') this.#runner.syncStarts(task);
    return task.snapshot();
  }

  /** Waits for a live task's end; resolves (or rejects) once that end is stored. */
  waitForEnd(task: LiveTask): Promise<unknown> {
    return new Promise((resolve, reject) => (task.resultWaiters ??= []).push({ resolve, reject }));
  }

  /** How a finished task ended, as `result()` answers it: its value, or the error it throws. */
  endingOf(task: LiveTask): unknown {
    const ending = task.ending!;
    if (ending.status === 'completed') return ending.result === null ? undefined : deserialize(ending.result);
    throw settledError(task.id, ending.status, ending.error);
  }

  whenIdle(): Promise<void> {
    if (this.#counts.queued + this.#counts.running === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#idleWaiters.push({ resolve, reject }));
  }

  // ---- tasks coming in ---------------------------------------------------------------

  /**
   * Takes over what the store recovered: the unfinished tasks, in any order (the heap
   * orders them). `lookup` finds a finished parent of a recovered child in the store.
   */
  async restore(rows: StoredTask[], nextSeq: number, lookup: (id: string) => Promise<ParentState | undefined>): Promise<void> {
    this.#nextSeq = nextSeq;
    // Nothing is dispatched while recovering (a million tasks take a while): the order is
    // only right once all are in the heap, and open() has not resolved yet.
    this.#state = 'restoring';
    const now = Date.now();
    const budget = new TurnBudget();
    const shapes = new RestoredShapes();
    const tasks: LiveTask[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      if (budget.spent()) await budget.nextTurn();
      const task = (tasks[i] = shapes.taskOf(rows[i]!));
      this.#live.add(task.id, task);
      if (task.relations.key !== null) this.#keys.set(task.relations.key, task);
      this.#counts[task.status as Counted]++;
    }
    for (let i = 0; i < rows.length; i++) {
      if (budget.spent()) await budget.nextTurn();
      const task = tasks[i]!;
      const { dependsOn } = rows[i]!;
      if (dependsOn.length === 0) {
        this.#place(task, NO_PARENTS, now);
        continue;
      }
      const parents: ParentState[] = [];
      for (const id of dependsOn) {
        const live = this.#live.get(id);
        parents.push(live !== undefined ? { id, status: live.status } : ((await lookup(id)) ?? { id, status: 'cancelled', error: MISSING_PARENT }));
      }
      this.#place(task, parents, now);
    }
    if (this.#state === 'restoring') this.#state = 'open';
    // Not before open() has resolved: whoever subscribes to events$ right after it should
    // see the recovered tasks start.
    setImmediate(() => this.#runner.wake());
  }

  /** Stores and queues a new task, or returns the unfinished task that holds its key. */
  add(input: NewTask, now: number): LiveTask {
    const { key } = input.relations;
    const holder = key === null ? undefined : this.#keys.get(key);
    if (holder !== undefined) return holder;
    const task = new LiveTask({
      id: newTaskId(),
      type: input.type,
      seq: this.#nextSeq++,
      priority: input.priority,
      name: input.name,
      description: input.description,
      payload: input.payload,
      createdAt: now,
      attempts: 0,
      phase: 'waiting',
      limits: input.limits,
      relations: input.relations,
    });
    task.runAt = input.runAt;
    this.#live.add(task.id, task);
    if (key !== null) this.#keys.set(key, task);
    this.#counts.queued++;
    // The task itself waits for its INSERT (it is a NewTaskRecord), not a copy of it.
    task.storedPayload = input.encodedPayload;
    task.unwritten = this.#options.writer.insert(task);
    const { bus } = this.#options;
    if (bus.observed) bus.emit({ type: 'created', taskId: task.id, at: now, taskType: task.type, priority: task.priority });
    this.#place(task, input.parents, now);
    return task;
  }

  /**
   * Puts a new or recovered task where it belongs: held (paused), blocked on its parents,
   * delayed until runAt, or in the heap. A parent that already failed ends it at once.
   */
  #place(task: LiveTask, parents: ParentState[], now: number): void {
    const failed = parents.length > 0 ? this.#dependencies.attach(task, parents) : undefined;
    if (failed !== undefined && task.relations.onParentFailure === 'cancel') {
      this.#finish(task, 'cancelled', { error: failed }, now);
    } else if (task.phase === 'held') {
      // stays held; resume() finds it blocked, delayed or ready
    } else if (task.unfinishedParents > 0) {
      task.phase = 'blocked';
    } else if (task.runAt !== null && task.runAt > now) {
      task.phase = 'scheduled';
      this.#timers.delay(task, task.runAt);
    } else {
      task.phase = 'waiting';
      this.#enqueue(task, now);
    }
  }

  // ---- commands (pause, resume, cancel, priority); each resolves once it is true ------

  /**
   * A task that has not started is held at once. A running one is asked to stop at its next
   * checkpoint, and the call resolves when its thread says it has.
   */
  pause(task: LiveTask): Promise<void> {
    switch (task.phase) {
      case 'scheduled':
        this.#timers.undelay(task);
      // falls through: it has not started, so it is held at once
      case 'blocked':
      case 'waiting':
        this.#hold(task);
        return this.durable();
      case 'dispatched':
        // Its thread may have just started it (nothing said so yet): then it is paused as running.
        if (!this.#runner.takeBack(task)) return this.pause(this.#startedNow(task));
        this.#hold(task);
        return this.durable();
      case 'running':
        if (task.cancelRequested || task.timedOut) {
          throw new InvalidTransitionError(task.id, 'running', 'pause', 'it is being stopped');
        }
        if (!task.pauseRequested) {
          task.pauseRequested = true;
          this.#runner.signal(task, 'pause');
        }
        return waitFor(task, 'pauseWaiters');
      default:
        throw new InvalidTransitionError(task.id, task.status, 'pause', 'it is already paused');
    }
  }

  /** A held task goes back where it belongs; one asleep at a checkpoint is woken, and the call resolves when it goes on. */
  resume(task: LiveTask): Promise<void> {
    if (task.cancelRequested) throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is being cancelled');
    switch (task.phase) {
      case 'held': {
        const at = Date.now();
        this.#unhold(task, at);
        this.#emit({ type: 'resumed', taskId: task.id, at });
        return this.durable();
      }
      case 'suspended':
        this.#runner.signal(task, 'run');
        return waitFor(task, 'resumeWaiters');
      case 'running':
        if (task.pauseRequested) {
          // Withdrawn before the thread reached a checkpoint: it never stopped.
          task.pauseRequested = false;
          this.#runner.signal(task, 'run');
          const withdrawn = new InvalidTransitionError(task.id, 'running', 'pause', 'resumed before it reached a checkpoint');
          task.pauseWaiters = settle(task.pauseWaiters, withdrawn);
          return Promise.resolve();
        }
      // falls through: running and not pausing
      default:
        throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is not paused');
    }
  }

  /** A task that has not started ends at once; a running one is stopped, and the call resolves once it has ended. */
  cancel(task: LiveTask): Promise<void> {
    switch (task.phase) {
      case 'dispatched':
        if (!this.#runner.takeBack(task)) return this.cancel(this.#startedNow(task)); // its thread has just started it
      // falls through: it has not started, so it ends now
      case 'waiting':
      case 'scheduled':
      case 'blocked':
      case 'held':
        this.#finish(task, 'cancelled', { error: CANCELLED });
        return this.durable();
      default:
        if (!task.cancelRequested) {
          task.cancelRequested = true;
          task.pauseRequested = false;
          this.#runner.stop(task);
        }
        return waitFor(task, 'cancelWaiters');
    }
  }

  /** A new priority for a task that has not started (or waits paused); one sent to a thread is taken back. */
  setPriority(task: LiveTask, priority: Priority): Promise<void> {
    if (task.phase === 'dispatched' && !this.#runner.takeBack(task)) this.#startedNow(task);
    if (task.phase === 'running' || task.phase === 'suspended') {
      throw new InvalidTransitionError(task.id, task.status, 'change the priority of', 'it has started');
    }
    task.priority = priority;
    task.rank = PRIORITIES.indexOf(priority);
    const back = task.phase === 'dispatched';
    this.#move(task, back ? 'waiting' : task.phase, { priority });
    if (task.phase === 'waiting') this.#enqueue(task, Date.now()); // the old heap entry is now stale
    return this.durable();
  }

  // ---- what the dispatcher takes and reports (DispatchSource) -------------------------

  peek(): LiveTask | undefined {
    return this.#ready.peek();
  }

  pop(): LiveTask | undefined {
    return this.#ready.pop();
  }

  putBack(task: LiveTask): void {
    this.#ready.push(task);
  }

  sent(task: LiveTask, startsNow: boolean, at: number): void {
    this.#timers.startRun(task, at);
    if (startsNow) this.#markStarted(task, at);
    else this.#move(task, 'dispatched', undefined, at);
  }

  takenBack(task: LiveTask): void {
    this.#move(task, 'waiting');
    this.#enqueue(task, Date.now());
  }

  started(task: LiveTask, at: number): void {
    if (task.phase === 'dispatched') this.#markStarted(task, at);
  }

  report(task: LiveTask, report: RunReport): void {
    switch (report.type) {
      case 'progress':
        this.#progress.push(task.id, report.report);
        return;
      case 'checkpoint':
        task.checkpoint = report.state;
        this.#writeRow(task, { checkpoint: new EncodedValue(report.state), updatedAt: Date.now() });
        return;
      case 'paused':
        if (task.phase !== 'running') return;
        // What it reported before it stopped is told before the pause.
        this.#progress.flush(task.id);
        this.#move(task, 'suspended', undefined, report.at);
        task.pauseRequested = false;
        task.pauseWaiters = settle(task.pauseWaiters);
        this.#timers.pauseRun(task, Date.now());
        this.#emit({ type: 'paused', taskId: task.id, at: report.at });
        return;
      case 'resumed':
        if (task.phase !== 'suspended') return;
        this.#move(task, 'running', undefined, report.at);
        task.resumeWaiters = settle(task.resumeWaiters);
        this.#timers.resumeRun(task, Date.now());
        this.#emit({ type: 'resumed', taskId: task.id, at: report.at });
    }
  }

  outcome(task: LiveTask, outcome: TaskOutcome): void {
    if (outcome.progress !== undefined) this.#progress.push(task.id, outcome.progress);
    if (outcome.startedAt === null) {
      // It never ran: the worker found it paused or stopped before starting it.
      if (task.phase === 'running') this.#unstart(task);
      if (outcome.kind === 'held') this.#hold(task);
      else if (task.cancelRequested) this.#finish(task, 'cancelled', { error: CANCELLED });
      else this.#requeue(task); // its time ran out while it waited behind others in its batch
      return;
    }
    // A task of a batch: its start is learnt with its end, and written with it in one patch.
    if (task.phase === 'dispatched') this.#announceStart(task, outcome.startedAt);
    // One a read found running (syncStarts) took the read's time: the thread knows better.
    else if (task.startedAt !== null && outcome.startedAt < task.startedAt) task.startedAt = outcome.startedAt;
    if (outcome.kind === 'completed') this.#finish(task, 'completed', { result: outcome.result }, outcome.endedAt);
    else if (outcome.kind === 'failed') this.#fail(task, outcome.error, outcome.endedAt);
    else if (task.timedOut && !task.cancelRequested) this.#fail(task, timeoutError(task), outcome.endedAt);
    else this.#finish(task, 'cancelled', { error: CANCELLED }, outcome.endedAt);
  }

  crashed(task: LiveTask, started: boolean, error: TaskError): void {
    if (task.cancelRequested) {
      this.#finish(task, 'cancelled', { error: CANCELLED });
    } else if (started) {
      if (task.phase === 'dispatched') this.#markStarted(task, Date.now());
      this.#fail(task, task.timedOut ? timeoutError(task) : error);
    } else {
      if (task.phase === 'running') this.#unstart(task);
      this.#requeue(task);
    }
  }

  // ---- closing ------------------------------------------------------------------------

  /** Graceful close: nothing more is dispatched; resolves once the runner's calls are done. */
  drain(): Promise<void> {
    if (this.#state === 'open' || this.#state === 'restoring') this.#state = 'draining';
    return this.#runner.settled();
  }

  /** Stops all bookkeeping: what is running now stays `running` in the store, for recovery. */
  stop(): void {
    this.#state = 'stopped';
    this.#runner.close();
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

  // ---- the moves --------------------------------------------------------------------

  /** Every change to a task's row goes through here: it joins the row's INSERT if that is still waiting. */
  #writeRow(task: LiveTask, patch: TaskPatch): void {
    this.#options.writer.patch(task.id, patch, task.unwritten);
  }

  #emit(event: Parameters<EventBus['emit']>[0]): void {
    const { bus } = this.#options;
    if (bus.observed) bus.emit(event);
  }

  /** Changes a live task's phase, checking the status move and keeping the counts. */
  #move(task: LiveTask, phase: Phase, patch?: Omit<TaskPatch, 'status' | 'updatedAt'>, at = Date.now()): void {
    const from = task.status;
    task.phase = phase;
    const to = task.status;
    task.updatedAt = at;
    if (from !== to) {
      if (!canMove(from, to)) throw new InvalidTransitionError(task.id, from, `move to ${to}`);
      this.#counts[from as Counted]--;
      this.#counts[to as Counted]++;
      this.#writeRow(task, { ...patch, status: to, updatedAt: at });
      this.#checkIdle();
    } else if (patch !== undefined) {
      this.#writeRow(task, { ...patch, updatedAt: at });
    }
  }

  /**
   * Into the heap, to be dispatched. With aging, a task that waits `agingMs` is treated one
   * level higher each time, up to the top: a flood of high-priority work cannot starve it.
   */
  #enqueue(task: LiveTask, at: number): void {
    this.#ready.push(task);
    const { agingMs } = this.#options;
    if (agingMs !== null && task.rank < TOP_RANK) this.#aging.add(task, at + agingMs, ++task.agingToken);
    this.#runner.wake();
  }

  /** Waited `agingMs` more: one level up, and back into the heap at its new place. */
  #age(task: LiveTask): void {
    if (task.phase !== 'waiting' || task.ended) return;
    task.rank = Math.min(TOP_RANK, task.rank + 1);
    this.#enqueue(task, Date.now());
  }

  /** A scheduled task is due, or a held one is resumed: back into the heap. */
  #release(task: LiveTask, at = Date.now()): void {
    this.#timers.undelay(task);
    task.runAt = null;
    this.#move(task, 'waiting', { runAt: null }, at);
    this.#enqueue(task, at);
  }

  /** Back into the heap, to run (again) from the start. */
  #requeue(task: LiveTask): void {
    this.#timers.endRun(task);
    this.#move(task, 'waiting');
    this.#enqueue(task, Date.now());
  }

  /** A run's deadline has come: its thread is told to stop. */
  #timeOut(task: LiveTask): void {
    if (this.#live.get(task.id) !== task) return;
    if (task.phase !== 'running' && task.phase !== 'dispatched') return;
    if (this.#runner.stop(task)) task.timedOut = true;
  }

  /**
   * A run failed (the handler threw, its thread died, its time was up). If it has retries
   * left it is queued again after its backoff, with a `retrying` event; else it ends failed.
   */
  #fail(task: LiveTask, error: TaskError, at = Date.now()): void {
    this.#timers.endRun(task);
    if (task.attempts > task.limits.retries || task.cancelRequested) {
      this.#finish(task, 'failed', { error }, at);
      return;
    }
    const delayMs = retryDelay(task.limits.backoff, task.attempts);
    task.lastError = error;
    task.timedOut = false;
    // What the failed run reported is told before the retry.
    this.#progress.flush(task.id);
    this.#emit({ type: 'retrying', taskId: task.id, at, attempt: task.attempts, error, delayMs });
    if (delayMs > 0) {
      this.#move(task, 'scheduled', { error, attempts: task.attempts, startedAt: task.startedAt, runAt: at + delayMs }, at);
      this.#timers.delay(task, at + delayMs);
    } else {
      this.#move(task, 'waiting', { error, attempts: task.attempts, startedAt: task.startedAt }, at);
      this.#enqueue(task, at);
    }
  }

  #markStarted(task: LiveTask, at: number): void {
    this.#announceStart(task, at);
    this.#move(task, 'running', { attempts: task.attempts, startedAt: at }, at);
  }

  /** A task sent in a batch that its thread has started without a word yet: running from now on. */
  #startedNow(task: LiveTask): LiveTask {
    this.#markStarted(task, Date.now());
    return task;
  }

  /** Counts the attempt and tells listeners; the row learns it with the next patch. */
  #announceStart(task: LiveTask, at: number): void {
    task.attempts++;
    task.startedAt = at;
    this.#emit({ type: 'started', taskId: task.id, at, attempt: task.attempts });
  }

  /** Undoes the start counted when a lone task was sent, for a task that never ran. */
  #unstart(task: LiveTask): void {
    task.attempts--;
    task.startedAt = null;
    this.#writeRow(task, { attempts: task.attempts, startedAt: null, updatedAt: Date.now() });
  }

  /** Paused before it started: out of the heap until resumed. */
  #hold(task: LiveTask): void {
    const at = Date.now();
    this.#move(task, 'held', undefined, at);
    task.pauseRequested = false;
    task.pauseWaiters = settle(task.pauseWaiters);
    this.#emit({ type: 'paused', taskId: task.id, at });
  }

  /** Where a resumed held task goes: back to its parents, its delay, or the heap. */
  #unhold(task: LiveTask, at: number): void {
    if (task.unfinishedParents > 0) {
      this.#move(task, 'blocked', undefined, at);
    } else if (task.runAt !== null && task.runAt > at) {
      this.#move(task, 'scheduled', undefined, at);
      this.#timers.delay(task, task.runAt);
    } else {
      this.#release(task, at);
    }
  }

  /** A child's last parent completed: it may run now (or at its runAt). */
  #unblock(child: LiveTask, at: number): void {
    if (child.phase !== 'blocked') return; // a held child is placed when it is resumed
    if (child.runAt !== null && child.runAt > at) {
      child.phase = 'scheduled';
      this.#timers.delay(child, child.runAt);
    } else {
      this.#release(child, at);
    }
  }

  #applyProgress(id: string, report: ProgressReport): void {
    const task = this.#live.get(id);
    if (task === undefined) return;
    task.progress = report.progress;
    task.progressMessage = report.message;
    const at = Date.now();
    this.#move(task, task.phase, { progress: report.progress, progressMessage: report.message }, at);
    this.#emit({ type: 'progress', taskId: id, at, ...report });
  }

  /** Ends a task for good: row, event, and everyone waiting on it. */
  #finish(task: LiveTask, status: FinishedStatus, outcome: { result?: Uint8Array | null; error?: TaskError }, at = Date.now()): void {
    if (!canMove(task.status, status)) throw new InvalidTransitionError(task.id, task.status, `finish as ${status}`);
    // What it reported last is told before its end.
    this.#progress.flush(task.id);
    this.#timers.endRun(task);
    this.#timers.undelay(task);
    task.ending = { status, result: outcome.result ?? null, error: outcome.error ?? null };
    this.#live.delete(task.id);
    const { key } = task.relations;
    if (key !== null && this.#keys.get(key) === task) this.#keys.delete(key); // the key is free again
    this.#counts[task.status as Counted]--;
    if (status === 'completed') task.progress = 100;
    this.#writeRow(task, this.#endPatch(task, status, outcome, at));
    const { bus, writer, retention, metrics } = this.#options;
    retention.notifyFinished(status, at);
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
    const needsValue = status === 'completed' && (bus.observed || task.resultWaiters !== undefined || hasChildren);
    const value = needsValue && outcome.result != null ? deserialize(outcome.result) : undefined;
    if (bus.observed) {
      if (status === 'completed') bus.emit({ type: 'completed', taskId: task.id, at, result: value });
      else bus.emit({ type: status, taskId: task.id, at, error: outcome.error! });
    }
    settleControlWaiters(task, status);
    const waiters = task.resultWaiters;
    if (waiters !== undefined) {
      // A result is promised only once the end is stored.
      const durable = writer.ack();
      for (const waiter of waiters) {
        if (status === 'completed') durable.then(() => waiter.resolve(value), waiter.reject);
        else durable.then(() => waiter.reject(settledError(task.id, status, outcome.error!)), waiter.reject);
      }
    }
    if (hasChildren) {
      this.#dependencies.parentFinished(
        task.id,
        status,
        { result: value, error: outcome.error },
        (child) => this.#unblock(child, at),
        (child, error) => this.#finish(child, 'cancelled', { error }, at),
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
    for (const waiter of this.#idleWaiters.splice(0)) waiter.resolve();
  }
}
