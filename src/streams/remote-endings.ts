/**
 * `result()` for a task of a shared queue, wherever it runs: its end is learnt from its
 * last event (this host's own, or another host's told through the queue's feed), or from
 * its row when it had ended before anyone asked, or when the feed was cut and events may
 * have been missed (`recheck`). A result is never given before the end is stored: another
 * host's event comes after its commit; this host's own waits for its write.
 */
import type { Subscription } from 'rxjs';
import { RuntimeClosedError, TaskNotFoundError } from '../errors.js';
import { settledError } from '../scheduler/task-endings.js';
import { FINISHED_STATUSES, type Task, type TaskEvent, type TaskStatus } from '../types.js';
import type { EventBus } from './event-bus.js';

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface RemoteEndingsOptions {
  bus: EventBus;
  /** The task's row. */
  read(id: string): Promise<Task | undefined>;
}

const ENDED = new Set<TaskStatus>(FINISHED_STATUSES);
/** Ends of tasks submitted here that nobody awaited yet, kept for a later result(); the oldest go first. */
const REMEMBERED = 10_000;

export class RemoteEndings {
  readonly #options: RemoteEndingsOptions;
  readonly #waiters = new Map<string, Waiter[]>();
  /**
   * Tasks submitted here whose end has not been seen: every end after open() is told on the
   * bus, so waiting for one of them needs no read of its row (a read per result() took the
   * store's connections from its writes).
   */
  readonly #expected = new Set<string>();
  /** How tasks submitted here ended, until someone asks (see REMEMBERED). */
  readonly #remembered = new Map<string, TaskEvent>();
  readonly #subscription: Subscription;
  #closed = false;

  constructor(options: RemoteEndingsOptions) {
    this.#options = options;
    this.#subscription = options.bus.events$.subscribe((event) => {
      if (!ENDED.has(event.type as TaskStatus)) return;
      if (!this.#waiters.has(event.taskId) && !this.#expected.has(event.taskId)) return;
      // Stored before it was told, whether another host or this one ended the task.
      this.#ended(event);
    });
  }

  /** A task submitted here (before its row is written): its end will be told on the bus. */
  expect(id: string): void {
    this.#expected.add(id);
  }

  /** A task expected here was not stored after all (its submit failed, or its key was taken). */
  unexpect(id: string): void {
    this.#expected.delete(id);
  }

  /** Resolves with the task's result, or rejects with how it ended (TaskFailedError, TaskCancelledError). */
  wait(id: string): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RuntimeClosedError('wait for a result'));
    const promise = new Promise((resolve, reject) => {
      const list = this.#waiters.get(id);
      if (list === undefined) this.#waiters.set(id, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
    const ended = this.#remembered.get(id);
    if (ended !== undefined) {
      this.#remembered.delete(id);
      this.#settleFromEvent(ended);
    } else if (!this.#expected.has(id)) {
      // Listening first, then reading: an end between the two is caught by one or the other.
      void this.#check(id);
    }
    return promise;
  }

  /**
   * Events may have been missed (the feed was cut): each awaited task's row is read again,
   * and a task submitted here is no longer sure to be told its end.
   */
  recheck(): void {
    this.#expected.clear();
    for (const id of this.#waiters.keys()) void this.#check(id);
  }

  close(): void {
    this.#closed = true;
    this.#subscription.unsubscribe();
    const closed = new RuntimeClosedError('wait for a result');
    for (const list of this.#waiters.values()) for (const waiter of list) waiter.reject(closed);
    this.#waiters.clear();
    this.#expected.clear();
    this.#remembered.clear();
  }

  async #check(id: string): Promise<void> {
    let task: Task | undefined;
    try {
      task = await this.#options.read(id);
    } catch {
      return; // the server is away: the feed's resync reads it again when it is back
    }
    if (task === undefined) this.#settle(id, (waiter) => waiter.reject(new TaskNotFoundError(id)));
    // A row keeps no undefined: a task that returned nothing reads back null.
    else if (ENDED.has(task.status)) this.#settleWith(id, task.status, task.result === null ? undefined : task.result, task.error);
  }

  /** A task's end, stored: told to whoever waits, or kept for a result() of a task submitted here. */
  #ended(event: TaskEvent): void {
    const expected = this.#expected.delete(event.taskId);
    if (this.#waiters.has(event.taskId)) this.#settleFromEvent(event);
    else if (expected) {
      this.#remembered.set(event.taskId, event);
      if (this.#remembered.size > REMEMBERED) this.#remembered.delete(this.#remembered.keys().next().value!);
    }
  }

  #settleFromEvent(event: TaskEvent): void {
    if (event.type === 'completed') this.#settleWith(event.taskId, 'completed', event.result, null);
    else if (event.type === 'failed' || event.type === 'cancelled') this.#settleWith(event.taskId, event.type, undefined, event.error);
  }

  #settleWith(id: string, status: TaskStatus, result: unknown, error: Task['error']): void {
    if (status === 'completed') this.#settle(id, (waiter) => waiter.resolve(result));
    else this.#settle(id, (waiter) => waiter.reject(settledError(id, status, error)));
  }

  #settle(id: string, how: (waiter: Waiter) => void): void {
    const list = this.#waiters.get(id);
    if (list === undefined) return;
    this.#waiters.delete(id);
    for (const waiter of list) how(waiter);
  }
}
