/**
 * How a submit becomes a queued task: a checked task (./task-types.ts, ./submit-items.ts) is
 * handed to the state owner, or on a shared queue to QueueSide, with the lookups it needs
 * first (its parents, a key still on disk); its submit resolves once it is stored, or at once
 * for a task that is not stored. TaskRuntime (./runtime.ts) checks the input and keeps the
 * public signatures.
 */
import type { QueueSide } from './queue-side.js';
import type { ParentState } from './scheduler/dependencies.js';
import type { LiveTask } from './scheduler/live-task.js';
import type { NewTask, TaskStateMachine } from './scheduler/task-states.js';
import { abortedBeforeSubmit, cancelOnAbort } from './streams/abort-follow.js';
import type { TaskHandle } from './streams/task-handle.js';
import { SubmitItems } from './submit-items.js';
import type { TaskTypes } from './task-types.js';
import { TurnBudget } from './turns.js';
import { QuickAcks, refuseOnProducer, refuseRemoteParent, refuseUnstoredParent } from './unstored.js';
import { TaskNotFoundError } from './errors.js';
import type { SubmitItem, Task } from './types.js';

/** What submitting needs of the runtime. */
export interface SubmitHost {
  readonly tasks: TaskStateMachine;
  /** What differs on a queue that several hosts share; null on a SQLite file this host owns. */
  readonly queue: QueueSide | null;
  readonly types: TaskTypes;
  /** The runtime's threads: 0 on a producer-only host, which runs nothing. */
  readonly concurrency: number;
  handle<Result>(task: LiveTask): TaskHandle<Result>;
  cancel(id: string): Promise<void>;
  /** A task read from the store, after the writes already announced. */
  stored(id: string): Promise<Task | undefined>;
  /** Throws RuntimeClosedError once close() has begun. */
  assertOpen(action: string): void;
  /** Throws the store's error while it cannot write (a full disk). */
  assertWritable(): void;
}

export class TaskSubmits {
  readonly #host: SubmitHost;
  /** How submits of tasks that are not stored resolve (no commit to wait for). */
  readonly #quickAcks = new QuickAcks();
  /** submitMany calls adding their tasks; close() lets them finish. */
  readonly #adding = new Set<Promise<unknown>>();

  constructor(host: SubmitHost) {
    this.#host = host;
  }

  /** A checked task, submitted; cancelled when `signal` aborts (see SubmitOptions.signal). */
  submit<Result>(input: NewTask, signal: AbortSignal | undefined): Promise<TaskHandle<Result>> {
    const submitted = this.#checked<Result>(input);
    return signal === undefined ? submitted : submitted.then((handle) => this.#follow(signal, handle));
  }

  /** Resolves once every submitMany under way has added its tasks (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#adding);
  }

  #checked<Result>(input: NewTask): Promise<TaskHandle<Result>> {
    if (input.durable === false) return this.#unstored<Result>(input);
    if (this.#host.queue !== null) return this.#host.queue.submit<Result>(input);
    // While a reopened file's queue loads, the task that holds the key may still be on disk.
    if (input.relations.dependsOn.length > 0 || (input.relations.key !== null && this.#host.tasks.loading)) return this.#afterLookups<Result>(input);
    // Not an async function: 100k submits resolving at once are a microtask burst, so each
    // continuation is kept to handing back a handle made beforehand.
    const handle = this.#host.handle<Result>(this.#host.tasks.add(input, Date.now()));
    return this.#host.tasks.durable().then(() => handle);
  }

  /**
   * A task that is not stored is this host's, on a shared queue too (no other host can see
   * it): queued here, and answered without waiting for a commit.
   */
  #unstored<Result>(input: NewTask): Promise<TaskHandle<Result>> {
    if (this.#host.concurrency === 0) return Promise.reject(refuseOnProducer('durable'));
    if (input.relations.dependsOn.length > 0) return this.#afterLookups<Result>(input);
    return this.#quickAcks.resolve(this.#host.handle<Result>(this.#host.tasks.add(input, Date.now())));
  }

  /** The task is cancelled when the submit's signal aborts (see SubmitOptions.signal). */
  #follow<Result>(signal: AbortSignal, handle: TaskHandle<Result>): TaskHandle<Result> {
    cancelOnAbort(signal, handle.id, (id) => this.#host.cancel(id), handle.result());
    return handle;
  }

  async #afterLookups<Result>(input: NewTask): Promise<TaskHandle<Result>> {
    const { dependsOn, key } = input.relations;
    if (dependsOn.length > 0) input.parents = await this.parentStates(dependsOn, input.durable !== false);
    if (key !== null) await this.#host.tasks.faultKey(key);
    this.#host.assertOpen('submit');
    const task = this.#host.tasks.add(input, Date.now());
    if (task.durable) await this.#host.tasks.durable();
    return this.#host.handle<Result>(task);
  }

  /** Several tasks in one transaction: all are stored, or none. */
  async submitMany<Result>(items: SubmitItem[]): Promise<TaskHandle<Result>[]> {
    this.#host.assertOpen('submitMany');
    this.#host.assertWritable();
    const checked = await SubmitItems.check(items, this.#host.types, () => this.#host.assertOpen('submitMany'));
    if (this.#host.concurrency === 0) {
      for (let i = 0; i < checked.count; i++) if (!checked.durable(i)) throw refuseOnProducer(`items[${i}].options.durable`);
    }
    // All or nothing, as the rest of a submitMany: one item already aborted stores none.
    const signals = items.some((item) => item.options?.signal !== undefined);
    if (signals && items.some((item) => item.options?.signal?.aborted === true)) throw abortedBeforeSubmit();
    const parents = new Map<number, ParentState[]>();
    for (let i = 0; i < checked.count; i++) {
      const dependsOn = checked.dependsOn(i);
      if (dependsOn.length > 0) parents.set(i, await this.parentStates(dependsOn, checked.durable(i)));
    }
    // While a reopened file's queue loads, the tasks that hold their keys may still be on disk.
    if (this.#host.queue === null && this.#host.tasks.loading) {
      for (const item of items) if (typeof item.options?.key === 'string') await this.#host.tasks.faultKey(item.options.key);
    }
    this.#host.assertOpen('submitMany');
    const adding = this.#addAll<Result>(checked.count, (i) => checked.task(i, parents.get(i)));
    this.#adding.add(adding);
    let handles: TaskHandle<Result>[];
    try {
      handles = await adding;
    } finally {
      this.#adding.delete(adding);
    }
    if (signals) {
      for (let i = 0; i < handles.length; i++) {
        const signal = items[i]!.options?.signal;
        if (signal !== undefined) this.#follow(signal, handles[i]!);
      }
    }
    return handles;
  }

  /**
   * Queues checked tasks a slice per turn, all in one transaction: the writer holds its
   * commit until the last is added. The first slices are dispatched while the rest are
   * added (as a submit loop spread over turns would be). close() waits for this to end, so
   * a submitMany that passed its checks is stored whole.
   */
  async #addAll<Result>(count: number, input: (index: number) => NewTask): Promise<TaskHandle<Result>[]> {
    const handles: TaskHandle<Result>[] = new Array(count);
    const now = Date.now();
    const budget = new TurnBudget();
    /** On a shared queue, keyed tasks are stored one by one after the others (see QueueSide.submit). */
    const keyed: number[] = [];
    const release = this.#host.tasks.holdWrites();
    try {
      for (let i = 0; i < count; i++) {
        const item = input(i);
        // A task that is not stored is this host's on a shared queue too (see #unstored).
        if (this.#host.queue === null || item.durable === false) handles[i] = this.#host.handle<Result>(this.#host.tasks.add(item, now));
        else if (item.relations.key !== null) keyed.push(i);
        else handles[i] = this.#host.queue.add<Result>(item, now);
        if (budget.spent()) await budget.nextTurn();
      }
    } finally {
      release();
    }
    await this.#host.tasks.durable();
    for (const i of keyed) handles[i] = await this.#host.queue!.submit<Result>(input(i));
    return handles;
  }

  /**
   * Where each parent of a new task stands; an unknown one rejects the submit. A stored
   * child (`durable`) may not wait for a task that is not stored (see refuseUnstoredParent).
   */
  async parentStates(ids: string[], durable = true): Promise<ParentState[]> {
    const states: ParentState[] = [];
    for (const id of ids) {
      const live = this.#host.tasks.get(id);
      if (live !== undefined) {
        if (durable && !live.durable) refuseUnstoredParent(live);
        states.push({ id, status: live.status });
        continue;
      }
      const stored = await this.#host.stored(id);
      if (stored === undefined) throw new TaskNotFoundError(id);
      const finished = stored.status !== 'queued' && stored.status !== 'running' && stored.status !== 'paused';
      if (!durable && this.#host.queue !== null && !finished) refuseRemoteParent(id);
      states.push({ id, status: stored.status, result: stored.result, error: stored.error });
    }
    return states;
  }
}
