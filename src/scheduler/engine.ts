/**
 * The scheduler: the live tasks, the heap, dispatch to the pool, and what happens when a
 * worker reports back. Every status change goes through `move()` (the transition table),
 * is written through the write batcher and announced on the event bus, in that order.
 *
 * Dispatch is event-driven: it runs (once per microtask at most) after a submit, a resume,
 * a finished call; never on a timer.
 */
import { randomUUID } from 'node:crypto';
import { deserialize } from 'node:v8';
import { InvalidTransitionError, OffthreadError, RuntimeClosedError, TaskCancelledError, TaskFailedError } from '../errors.js';
import { EncodedValue } from '../store/encoded.js';
import type { StoredTask, TaskPatch } from '../store/task-store.js';
import type { WriteBatcher } from '../store/write-batcher.js';
import type { EventBus } from '../streams/event-bus.js';
import { ProgressCoalescer } from '../streams/progress-coalescer.js';
import type { Priority, TaskError, TaskStatus } from '../types.js';
import type { ControlSlots } from '../workers/control.js';
import type { WorkerPool } from '../workers/pool.js';
import type { ProgressReport, TaskOutcome, TaskRequest } from '../workers/protocol.js';
import type { BatchPlanner } from './batch-planner.js';
import { LiveTask, settle, type Call, type Phase } from './live-task.js';
import { TaskQueue } from './task-queue.js';
import { canMove } from './transitions.js';

export interface EngineParts {
  writer: WriteBatcher;
  bus: EventBus;
  pool: WorkerPool;
  controls: ControlSlots;
  planner: BatchPlanner;
  handlers: string;
  concurrency: number;
  progressIntervalMs: number;
}

export interface NewTask {
  type: string;
  payload: unknown;
  encodedPayload: EncodedValue;
  name: string | null;
  description: string | null;
  priority: Priority;
}


const CANCELLED: TaskError = { code: 'ERR_TASK_CANCELLED', message: 'The task was cancelled.' };

export class Engine {
  readonly live = new Map<string, LiveTask>();
  readonly queue = new TaskQueue<LiveTask>();
  readonly counts: Record<'queued' | 'running' | 'paused', number> = { queued: 0, running: 0, paused: 0 };
  private readonly calls = new Set<Call>();
  private readonly coalescer: ProgressCoalescer;
  private readonly idleWaiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  private drainWaiter: (() => void) | undefined;
  private dispatchScheduled = false;
  private nextSeq = 1;
  /** 'open', then 'draining' (graceful close), then 'stopped' (nothing more is written). */
  state: 'open' | 'draining' | 'stopped' = 'open';

  constructor(readonly parts: EngineParts) {
    this.coalescer = new ProgressCoalescer(parts.progressIntervalMs, (id, report) => this.applyProgress(id, report));
  }

  /** Takes over what the store recovered: unfinished tasks in dispatch order. */
  restore(tasks: StoredTask[], nextSeq: number): void {
    this.nextSeq = nextSeq;
    for (const row of tasks) {
      const phase: Phase = row.status === 'paused' ? 'held' : 'waiting';
      const task = new LiveTask(row.id, row.type, row.seq, row.priority, row.name, row.description, row.payload, row.createdAt, row.attempts, phase);
      task.progress = row.progress;
      task.progressMessage = row.progressMessage;
      this.live.set(task.id, task);
      this.counts[task.status as 'queued' | 'paused']++;
      if (phase === 'waiting') this.queue.push(task);
    }
    this.scheduleDispatch();
  }

  add(input: NewTask, now: number): LiveTask {
    const task = new LiveTask(randomUUID(), input.type, this.nextSeq++, input.priority, input.name, input.description, input.payload, now, 0, 'waiting');
    this.live.set(task.id, task);
    this.counts.queued++;
    this.parts.writer.insert({
      seq: task.seq,
      id: task.id,
      type: task.type,
      name: task.name,
      description: task.description,
      priority: task.priority,
      payload: input.encodedPayload,
      createdAt: now,
    });
    this.queue.push(task);
    if (this.parts.bus.observed) {
      this.parts.bus.emit({ type: 'created', taskId: task.id, at: now, taskType: task.type, priority: task.priority });
    }
    this.scheduleDispatch();
    return task;
  }

  /** Changes a live task's phase, checking the status move and keeping the counts. */
  move(task: LiveTask, phase: Phase, patch?: Omit<TaskPatch, 'status' | 'updatedAt'>, at = Date.now()): void {
    const from = task.status;
    task.phase = phase;
    const to = task.status;
    task.updatedAt = at;
    if (from !== to) {
      if (!canMove(from, to)) throw new InvalidTransitionError(task.id, from, `move to ${to}`);
      this.counts[from as 'queued']--;
      this.counts[to as 'queued']++;
      this.parts.writer.patch(task.id, { ...patch, status: to, updatedAt: at });
      this.checkIdle();
    } else if (patch !== undefined) {
      this.parts.writer.patch(task.id, { ...patch, updatedAt: at });
    }
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.state !== 'open') return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const { planner, concurrency } = this.parts;
    while (this.state === 'open' && this.calls.size < concurrency) {
      const first = this.queue.pop();
      if (first === undefined) return;
      const batch = [first];
      if (planner.isShort(first.type)) {
        let plannedMs = planner.estimate(first.type)!;
        for (let next = this.queue.peek(); next !== undefined && planner.fits(plannedMs, batch.length, next.type); next = this.queue.peek()) {
          batch.push(this.queue.pop()!);
          plannedMs += planner.estimate(next.type)!;
        }
      }
      this.send(batch);
    }
  }

  private send(tasks: LiveTask[]): void {
    const now = Date.now();
    const call: Call = { tasks, slots: new Array(tasks.length), held: 0 };
    const requests: TaskRequest[] = new Array(tasks.length);
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      task.slot = call.slots[i] = this.parts.controls.acquire()!;
      task.received = 0;
      requests[i] = { id: task.id, type: task.type, payload: task.payload, attempt: task.attempts + 1, slot: task.slot };
      // A task sent alone starts at once; one in a batch is reported when the batch is back.
      if (tasks.length === 1) this.markStarted(task, now);
      else this.move(task, 'dispatched', undefined, now);
    }
    this.calls.add(call);
    this.parts.pool.runBatch(this.parts.handlers, requests).then(
      (outcomes) => this.onOutcomes(call, outcomes),
      (error: unknown) => this.onCallFailed(call, error),
    );
  }

  markStarted(task: LiveTask, at: number): void {
    this.announceStart(task, at);
    this.move(task, 'running', { attempts: task.attempts, startedAt: at }, at);
  }

  /** Counts the attempt and tells listeners; the row learns it with the next patch. */
  private announceStart(task: LiveTask, at: number): void {
    task.attempts++;
    task.startedAt = at;
    if (this.parts.bus.observed) this.parts.bus.emit({ type: 'started', taskId: task.id, at, attempt: task.attempts });
  }

  /** The task's call is still the one that owns it (not detached by a pause or cancel). */
  private owns(call: Call, index: number): LiveTask | undefined {
    const task = call.tasks[index]!;
    return task.slot === call.slots[index] && this.live.get(task.id) === task ? task : undefined;
  }

  private onOutcomes(call: Call, outcomes: TaskOutcome[]): void {
    if (this.state !== 'stopped') {
      for (let i = 0; i < outcomes.length; i++) {
        const task = this.owns(call, i);
        if (task !== undefined) this.applyOutcome(task, outcomes[i]!, call);
      }
    }
    // A held outcome still counts its task as running: the call's place is not free yet.
    if (call.held === 0) this.endCall(call);
  }

  private applyOutcome(task: LiveTask, outcome: TaskOutcome, call: Call): void {
    task.slot = -1;
    if (task.earlyOutcome === undefined && task.received < outcome.posted) {
      // Some of its messages are still on the way over the other port: finish after them.
      task.earlyOutcome = outcome;
      task.earlyCall = call;
      call.held++;
      return;
    }
    if (task.earlyOutcome !== undefined) {
      task.earlyOutcome = undefined;
      task.earlyCall = undefined;
      if (--call.held === 0) queueMicrotask(() => this.endCall(call));
    }
    if (outcome.progress !== undefined) this.coalescer.push(task.id, outcome.progress);
    if (outcome.startedAt === null) {
      // It never ran: the worker found it paused or cancelled before starting it.
      if (task.phase === 'running') this.unstart(task);
      if (outcome.kind === 'held') this.hold(task);
      else this.finish(task, 'cancelled', { error: CANCELLED });
      return;
    }
    this.parts.planner.record(task.type, outcome.runMs);
    // A task of a batch: its start is learnt with its end, and written with it in one patch.
    if (task.phase === 'dispatched') this.announceStart(task, outcome.startedAt);
    if (outcome.kind === 'completed') this.finish(task, 'completed', { result: outcome.result }, outcome.endedAt);
    else if (outcome.kind === 'failed') this.finish(task, 'failed', { error: outcome.error }, outcome.endedAt);
    else this.finish(task, 'cancelled', { error: CANCELLED }, outcome.endedAt);
  }

  /** The worker thread died under the call (crash, or terminated after a cancel's grace). */
  private onCallFailed(call: Call, error: unknown): void {
    if (this.state !== 'stopped') {
      const reason = error instanceof Error ? error.message : String(error);
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task === undefined) continue;
        const started = this.parts.controls.threadOf(call.slots[i]!) !== 0;
        task.slot = -1;
        if (task.cancelRequested) {
          this.finish(task, 'cancelled', { error: CANCELLED });
        } else if (started) {
          if (task.phase === 'dispatched') this.markStarted(task, Date.now());
          const message = `The worker thread running this task exited: ${reason}`;
          this.finish(task, 'failed', { error: { code: 'ERR_WORKER_CRASHED', message } });
        } else {
          if (task.phase === 'running') this.unstart(task);
          this.move(task, 'waiting');
          this.queue.push(task);
        }
      }
    }
    this.endCall(call);
  }

  private endCall(call: Call): void {
    for (const slot of call.slots) this.parts.controls.release(slot);
    this.calls.delete(call);
    this.checkDrained();
    this.dispatch();
  }

  /** Undoes the start counted when a lone task was sent, for a task that never ran. */
  private unstart(task: LiveTask): void {
    task.attempts--;
    task.startedAt = null;
    this.parts.writer.patch(task.id, { attempts: task.attempts, startedAt: null, updatedAt: Date.now() });
  }

  /** Paused before it started: out of the heap until resumed. */
  hold(task: LiveTask): void {
    const at = Date.now();
    this.move(task, 'held', undefined, at);
    task.pauseRequested = false;
    task.pauseWaiters = settle(task.pauseWaiters);
    if (this.parts.bus.observed) this.parts.bus.emit({ type: 'paused', taskId: task.id, at });
  }

  /** A running task's thread reports progress, or that it stopped at / left a checkpoint. */
  onWorkerEvent(event: { type: 'progress' | 'paused' | 'resumed'; id: string; at?: number } & Partial<ProgressReport>): void {
    const task = this.live.get(event.id);
    if (task === undefined || this.state === 'stopped') return;
    if (task.slot < 0 && task.earlyOutcome === undefined) return; // from a run taken back
    task.received++;
    // A task of a batch that speaks has started.
    if (task.phase === 'dispatched') this.markStarted(task, Date.now());
    if (task.earlyOutcome !== undefined) {
      if (event.type === 'progress') this.coalescer.push(task.id, { progress: event.progress!, message: event.message ?? null });
      if (task.received >= task.earlyOutcome.posted) this.applyOutcome(task, task.earlyOutcome, task.earlyCall!);
      return;
    }
    if (event.type === 'progress') {
      this.coalescer.push(task.id, { progress: event.progress!, message: event.message ?? null });
    } else if (event.type === 'paused' && task.phase === 'running') {
      this.move(task, 'suspended', undefined, event.at);
      task.pauseRequested = false;
      task.pauseWaiters = settle(task.pauseWaiters);
      if (this.parts.bus.observed) this.parts.bus.emit({ type: 'paused', taskId: task.id, at: event.at! });
      this.checkDrained();
    } else if (event.type === 'resumed' && task.phase === 'suspended') {
      this.move(task, 'running', undefined, event.at);
      task.resumeWaiters = settle(task.resumeWaiters);
      if (this.parts.bus.observed) this.parts.bus.emit({ type: 'resumed', taskId: task.id, at: event.at! });
    }
  }

  private applyProgress(id: string, report: ProgressReport): void {
    const task = this.live.get(id);
    if (task === undefined) return;
    task.progress = report.progress;
    task.progressMessage = report.message;
    const at = Date.now();
    this.move(task, task.phase, { progress: report.progress, progressMessage: report.message }, at);
    if (this.parts.bus.observed) this.parts.bus.emit({ type: 'progress', taskId: id, at, ...report });
  }

  /** Ends a task for good: row, event, and everyone waiting on it. */
  finish(task: LiveTask, status: 'completed' | 'failed' | 'cancelled', outcome: { result?: Uint8Array; error?: TaskError }, at = Date.now()): void {
    if (!canMove(task.status, status)) throw new InvalidTransitionError(task.id, task.status, `finish as ${status}`);
    this.coalescer.flush(task.id);
    task.ended = true;
    this.live.delete(task.id);
    this.counts[task.status as 'queued']--;
    if (task.graceTimer !== undefined) clearTimeout(task.graceTimer);
    if (status === 'completed') task.progress = 100;
    const { bus, writer } = this.parts;
    writer.patch(task.id, {
      status,
      attempts: task.attempts,
      startedAt: task.startedAt,
      progress: task.progress,
      result: outcome.result === undefined ? null : new EncodedValue(outcome.result),
      error: outcome.error ?? null,
      completedAt: at,
      updatedAt: at,
    });
    const needsValue = status === 'completed' && (bus.observed || task.resultWaiters !== undefined);
    const value = needsValue ? deserialize(outcome.result!) : undefined;
    if (bus.observed) {
      if (status === 'completed') bus.emit({ type: 'completed', taskId: task.id, at, result: value });
      else bus.emit({ type: status, taskId: task.id, at, error: outcome.error! });
    }
    // Errors are made only for someone waiting: a stack trace per finished task is not free.
    if (task.pauseWaiters !== undefined || task.resumeWaiters !== undefined) {
      const finished = new InvalidTransitionError(task.id, status, 'pause or resume', 'it ended first');
      task.pauseWaiters = settle(task.pauseWaiters, finished);
      task.resumeWaiters = settle(task.resumeWaiters, finished);
    }
    if (task.cancelWaiters !== undefined) {
      const notCancelled = new InvalidTransitionError(task.id, status, 'cancel', 'it ended before it could be stopped');
      task.cancelWaiters = settle(task.cancelWaiters, status === 'cancelled' ? undefined : notCancelled);
    }
    const waiters = task.resultWaiters;
    if (waiters !== undefined) {
      const durable = writer.ack();
      for (const waiter of waiters) {
        if (status === 'completed') durable.then(() => waiter.resolve(value), waiter.reject);
        else durable.then(() => waiter.reject(settledError(task.id, status, outcome.error!)), waiter.reject);
      }
    }
    this.checkIdle();
  }

  whenIdle(): Promise<void> {
    if (this.counts.queued + this.counts.running === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || this.counts.queued + this.counts.running > 0) return;
    for (const waiter of this.idleWaiters.splice(0)) waiter.resolve();
  }

  /**
   * Graceful close: no more dispatch; resolves once every call has ended, or only calls
   * whose task sleeps paused at a checkpoint remain (they would wait forever).
   */
  drain(): Promise<void> {
    this.state = 'draining';
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (this.drainWaiter === undefined) return;
    for (const call of this.calls) {
      if (!call.tasks.some((task, i) => this.owns(call, i)?.phase === 'suspended')) return;
    }
    const resolve = this.drainWaiter;
    this.drainWaiter = undefined;
    resolve();
  }

  /** Stops all bookkeeping: what is running now stays `running` in the store, for recovery. */
  stop(): void {
    this.state = 'stopped';
    this.coalescer.close();
    const closed = new RuntimeClosedError('wait for the task');
    for (const task of this.live.values()) {
      if (task.graceTimer !== undefined) clearTimeout(task.graceTimer);
      for (const key of ['pauseWaiters', 'resumeWaiters', 'cancelWaiters', 'resultWaiters'] as const) {
        for (const waiter of task[key] ?? []) waiter.reject(closed);
        task[key] = undefined;
      }
    }
    for (const waiter of this.idleWaiters.splice(0)) waiter.reject(new RuntimeClosedError('wait for idle'));
  }
}

/** The error `result()` rejects with for a task that did not complete. */
export function settledError(taskId: string, status: TaskStatus, error: TaskError | null): OffthreadError {
  if (status === 'cancelled') return new TaskCancelledError(taskId);
  return new TaskFailedError(taskId, error ?? { code: 'ERR_TASK_FAILED', message: 'failed' });
}
