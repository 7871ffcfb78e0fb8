/**
 * TaskRuntime: the host-side public API. It checks input, then hands the work to the
 * engine (src/scheduler), the store (src/store), the pool (src/workers) and the event
 * bus (src/streams), which it creates at open and closes at close.
 */
import { deserialize } from 'node:v8';
import { interval, map, Observable, takeUntil, throwError } from 'rxjs';
import {
  InvalidTransitionError,
  InvalidOptionError,
  RuntimeClosedError,
  TaskNotFoundError,
  UnknownTaskTypeError,
} from './errors.js';
import { checkPriority } from './options/checks.js';
import { resolveFilter } from './options/list-filter.js';
import type { ResolvedRuntimeOptions } from './options/runtime-options.js';
import { defaultSubmitOptions, resolveSubmitOptions, type ResolvedSubmitOptions } from './options/submit-options.js';
import { selectLive } from './scheduler/select-live.js';
import type { ParentState } from './scheduler/dependencies.js';
import { settledError, type Engine, type NewTask } from './scheduler/engine.js';
import type { LiveTask } from './scheduler/live-task.js';
import { TaskControl } from './scheduler/task-control.js';
import type { EncodedValue } from './store/encoded.js';
import { EncodedPayloads, encodePayload } from './store/encoded-payloads.js';
import type { TaskStore } from './store/task-store.js';
import type { EventBus } from './streams/event-bus.js';
import { createHandle, type HandleSource, type TaskHandle } from './streams/task-handle.js';
import { observeTask } from './streams/task-observable.js';
import type { RuntimeMetrics } from './streams/metrics.js';
import { watchTasks } from './streams/watch.js';
import { CronScheduler, type ScheduleInfo, type ScheduleOptions } from './scheduler/cron.js';
import type {
  CleanupOptions,
  CloseOptions,
  Priority,
  RuntimeOptions,
  SubmitItem,
  SubmitOptions,
  Task,
  TaskEvent,
  TaskFilter,
  TaskStats,
  TaskStatus,
} from './types.js';
import { FINISHED_STATUSES } from './types.js';
import type { TaskTypeOptions } from './types.js';
import type { RetentionSweeper } from './scheduler/retention.js';
import { assemble } from './runtime-assembly.js';
import { TurnBudget } from './turns.js';

const NO_PARENTS: ParentState[] = [];

function newTask(
  type: string,
  payload: unknown,
  encodedPayload: EncodedValue | undefined,
  resolved: Readonly<ResolvedSubmitOptions>,
  parents: ParentState[],
): NewTask {
  const { name, description, priority, limits, relations, runAt } = resolved;
  return { type, payload, encodedPayload, name, description, priority, limits, relations, runAt, parents };
}

export class TaskRuntime {
  private closing: Promise<void> | undefined;
  private readonly control: TaskControl;
  private readonly submitDefaults = new Map<string, Readonly<ResolvedSubmitOptions>>();
  /** submitMany calls adding their tasks; close() lets them finish. */
  private readonly adding = new Set<Promise<unknown>>();
  private readonly cron: CronScheduler;

  private constructor(
    /** The task types (the handlers module's defineTask exports) and their options. */
    private readonly types: ReadonlyMap<string, TaskTypeOptions>,
    private readonly store: TaskStore,
    private readonly engine: Engine,
    private readonly bus: EventBus,
    private readonly options: ResolvedRuntimeOptions,
    private readonly sweeper: RetentionSweeper,
  ) {
    this.control = new TaskControl(engine);
    this.cron = new CronScheduler({
      store: store.schedules,
      submit: (type, payload, submitOptions) => this.submit(type, payload, submitOptions as SubmitOptions),
      isUnfinished: (id) => engine.live.has(id),
      validate: (type, payload, submitOptions) => {
        if ((submitOptions as SubmitOptions | undefined)?.dependsOn !== undefined) {
          throw new InvalidOptionError('dependsOn', 'a schedule starts a new task on each tick; it cannot depend on other tasks.');
        }
        this.prepare(type, payload, submitOptions as SubmitOptions);
      },
    });
  }

  /** Opens the store, starts the worker threads and re-queues unfinished tasks. */
  static async open(options: RuntimeOptions): Promise<TaskRuntime> {
    const parts = await assemble(options);
    const runtime = new TaskRuntime(parts.types, parts.store, parts.engine, parts.bus, parts.options, parts.sweeper);
    try {
      await runtime.cron.start();
    } catch (error) {
      await runtime.close({ graceful: false });
      throw error;
    }
    parts.sweeper.start();
    return runtime;
  }

  /** Every task event: created, started, progress, paused, resumed, completed, failed, cancelled. */
  get events$(): Observable<TaskEvent> {
    return this.bus.events$;
  }

  /** The task types the handlers module exports. */
  get taskTypes(): string[] {
    return [...this.types.keys()];
  }

  /** Stores a task (committed before this resolves) and queues it. */
  submit<Result = unknown>(type: string, payload?: unknown, options?: SubmitOptions): Promise<TaskHandle<Result>> {
    let input: NewTask;
    try {
      this.assertOpen('submit');
      input = this.prepare(type, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (input.relations.dependsOn.length > 0) return this.submitAfterParents<Result>(input);
    // Not an async function: 100k submits resolving at once are a microtask burst, so each
    // continuation is kept to handing back a handle made beforehand.
    const handle = this.handle<Result>(this.engine.add(input, Date.now()));
    return this.engine.parts.writer.ack().then(() => handle);
  }

  private async submitAfterParents<Result>(input: NewTask): Promise<TaskHandle<Result>> {
    input.parents = await this.parentStates(input.relations.dependsOn);
    this.assertOpen('submit');
    const task = this.engine.add(input, Date.now());
    await this.engine.parts.writer.ack();
    return this.handle<Result>(task);
  }

  /** Submits several tasks in one transaction: all are stored, or none. */
  async submitMany<Result = unknown>(items: SubmitItem[]): Promise<TaskHandle<Result>[]> {
    this.assertOpen('submitMany');
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'submitMany expects an array of { type, payload?, options? }.');
    // Every item is checked (and its payload encoded) before any is stored, a slice per turn
    // of the event loop, so 100k items do not hold the main thread for the whole check. What
    // the adding needs is kept in arrays, not in an object per item: an object that lives
    // across turns is copied out of the young generation by the scavenger (a submitMany of
    // 100k no-ops: 1.1 -> 0.9 KB promoted a task).
    const list = [...items];
    const count = list.length;
    const types = new Array<string>(count);
    const payloads = new Array<unknown>(count);
    const encoded = new EncodedPayloads(count);
    const resolved = new Array<Readonly<ResolvedSubmitOptions>>(count);
    const budget = new TurnBudget();
    for (let i = 0; i < count; i++) {
      const item = list[i];
      if (typeof item !== 'object' || item === null) throw new InvalidOptionError(`items[${i}]`, 'expected { type, payload?, options? }.');
      const { type, payload } = item;
      resolved[i] = this.resolveOptions(type, item.options);
      encoded.set(i, payload);
      types[i] = type;
      payloads[i] = payload;
      if (budget.spent()) {
        await budget.nextTurn();
        this.assertOpen('submitMany');
      }
    }
    const parents = new Map<number, ParentState[]>();
    for (let i = 0; i < count; i++) {
      const { dependsOn } = resolved[i]!.relations;
      if (dependsOn.length > 0) parents.set(i, await this.parentStates(dependsOn));
    }
    this.assertOpen('submitMany');
    const adding = this.addAll<Result>(count, (i) => newTask(types[i]!, payloads[i], encoded.get(i), resolved[i]!, parents.get(i) ?? NO_PARENTS));
    this.adding.add(adding);
    try {
      return await adding;
    } finally {
      this.adding.delete(adding);
    }
  }

  /**
   * Queues checked tasks a slice per turn, all in one transaction: the writer holds its
   * commit until the last is added. The first slices are dispatched while the rest are
   * added (as a submit loop spread over turns would be). close() waits for this to end, so
   * a submitMany that passed its checks is stored whole.
   */
  private async addAll<Result>(count: number, input: (index: number) => NewTask): Promise<TaskHandle<Result>[]> {
    const { writer } = this.engine.parts;
    const handles: TaskHandle<Result>[] = new Array(count);
    const now = Date.now();
    const budget = new TurnBudget();
    const release = writer.hold();
    try {
      for (let i = 0; i < count; i++) {
        handles[i] = this.handle<Result>(this.engine.add(input(i), now));
        if (budget.spent()) await budget.nextTurn();
      }
    } finally {
      release();
    }
    await writer.ack();
    return handles;
  }

  cancel(id: string): Promise<void> {
    return this.act(id, 'cancel', (task) => this.control.cancel(task));
  }

  pause(id: string): Promise<void> {
    return this.act(id, 'pause', (task) => this.control.pause(task));
  }

  resume(id: string): Promise<void> {
    return this.act(id, 'resume', (task) => this.control.resume(task));
  }

  /** Changes the priority of a task that has not started (queued or paused); it moves in the queue. */
  setPriority(id: string, priority: Priority): Promise<void> {
    return this.act(id, 'change the priority of', (task) => this.control.setPriority(task, checkPriority(priority)));
  }

  /** Cancels every unfinished task the filter matches, in one transaction; resolves to how many. */
  cancelMany(filter: TaskFilter = {}): Promise<number> {
    return this.many('cancel', filter, (task) => this.control.cancel(task), (task) => task.cancelRequested);
  }

  /** Pauses every queued or running task the filter matches; resolves to how many. */
  pauseMany(filter: TaskFilter = {}): Promise<number> {
    return this.many('pause', filter, (task) => this.control.pause(task), (task) => task.pauseRequested);
  }

  /** Resumes every paused task the filter matches; resolves to how many. */
  resumeMany(filter: TaskFilter = {}): Promise<number> {
    return this.many('resume', filter, (task) => this.control.resume(task));
  }

  /**
   * Applies an operation to the live tasks a filter matches (finished ones cannot change).
   * All of it happens in one synchronous pass, so its writes share one transaction; tasks
   * the operation does not apply to (already paused, say) are skipped, not counted. A
   * running task is counted once it has been told; it stops at its next checkpoint.
   */
  private async many(
    action: string,
    filter: TaskFilter,
    apply: (task: LiveTask) => Promise<void>,
    alreadyAsked: (task: LiveTask) => boolean = () => false,
  ): Promise<number> {
    this.assertOpen(`${action} tasks`);
    // Tasks already being cancelled (or paused) are not changed again, so not counted.
    const matches = selectLive(this.engine.live.values(), resolveFilter(filter)).filter((task) => !alreadyAsked(task));
    let changed = 0;
    for (const task of matches) {
      if (task.ended) {
        changed++; // ended by an earlier one of this pass: a cancelled parent took it along
        continue;
      }
      try {
        apply(task).catch(() => undefined); // its end is reported through events and the row
        changed++;
      } catch (error) {
        if (!(error instanceof InvalidTransitionError)) throw error;
      }
    }
    await this.engine.parts.writer.ack();
    return changed;
  }

  async get(id: string): Promise<Task | undefined> {
    this.assertOpen('get');
    const live = this.engine.live.get(id);
    if (live === undefined) return this.stored(id);
    this.engine.dispatcher.syncStart(live);
    return live.snapshot();
  }

  /** Tasks matching the filter, newest first. */
  async list(filter: TaskFilter = {}): Promise<Task[]> {
    this.assertOpen('list');
    const checked = resolveFilter(filter);
    await this.pendingWrites('list');
    return this.store.list(checked);
  }

  async stats(): Promise<TaskStats> {
    this.assertOpen('stats');
    await this.pendingWrites('stats');
    return this.store.stats();
  }

  /** Removes finished tasks that finished at least `olderThanMs` ago; returns how many. */
  async cleanup(options: CleanupOptions): Promise<number> {
    this.assertOpen('cleanup');
    const statuses = options?.statuses ?? [...FINISHED_STATUSES];
    if (typeof options?.olderThanMs !== 'number' || !(options.olderThanMs >= 0)) {
      throw new InvalidOptionError('olderThanMs', `expected a number of ms >= 0, got ${String(options?.olderThanMs)}.`);
    }
    for (const status of statuses) {
      if (!FINISHED_STATUSES.includes(status)) {
        throw new InvalidOptionError('statuses', `only finished tasks can be removed (completed, failed, cancelled), got "${status}".`);
      }
    }
    await this.pendingWrites('cleanup');
    return this.store.cleanup({ olderThanMs: options.olderThanMs, statuses }, Date.now());
  }

  /** Snapshots of one task until it has finished. */
  observe(id: string): Observable<Task> {
    if (this.closing !== undefined) return throwError(() => new RuntimeClosedError('observe'));
    return observeTask(id, this.bus, {
      liveSnapshot: (taskId) => this.engine.live.get(taskId)?.snapshot(),
      storedSnapshot: (taskId) => this.stored(taskId),
    });
  }

  /**
   * The tasks matching a `list` filter, at once and again (at most every
   * `progressIntervalMs`) whenever one of them, or one entering the filter, changes.
   */
  watch(filter: TaskFilter = {}): Observable<Task[]> {
    if (this.closing !== undefined) return throwError(() => new RuntimeClosedError('watch'));
    let checked: TaskFilter;
    try {
      checked = resolveFilter(filter);
    } catch (error) {
      return throwError(() => error);
    }
    return watchTasks(checked, { list: (f) => this.list(f), events$: this.bus.events$ }, this.options.progressIntervalMs);
  }

  /** Counts and run/wait time percentiles per task type and per priority, since open. */
  metrics(): RuntimeMetrics {
    this.assertOpen('read metrics');
    return this.engine.parts.metrics.snapshot();
  }

  /** `metrics()` every `metricsIntervalMs` while subscribed; completes at close. */
  get metrics$(): Observable<RuntimeMetrics> {
    const closed$ = new Observable<void>((subscriber) => this.bus.events$.subscribe({ complete: () => subscriber.next() }));
    return interval(this.options.metricsIntervalMs).pipe(
      takeUntil(closed$),
      map(() => this.engine.parts.metrics.snapshot()),
    );
  }

  /**
   * Submits `type` on a cron schedule (seconds allowed: 6 fields), kept in the store. A
   * schedule does not start a task while its previous one is unfinished unless `overlap`;
   * a tick missed while the host was down runs once at open. Same name: replaced.
   */
  async schedule(name: string, cron: string, type: string, payload?: unknown, options?: ScheduleOptions): Promise<ScheduleInfo> {
    this.assertOpen('schedule');
    return this.cron.schedule(name, cron, type, payload, options);
  }

  async schedules(): Promise<ScheduleInfo[]> {
    this.assertOpen('list schedules');
    return this.cron.list();
  }

  /** Removes a schedule; resolves to whether there was one. */
  async unschedule(name: string): Promise<boolean> {
    this.assertOpen('unschedule');
    return this.cron.unschedule(name);
  }

  /** Resolves once nothing is queued or running (paused tasks do not count). */
  async whenIdle(): Promise<void> {
    this.assertOpen('whenIdle');
    return this.engine.whenIdle();
  }

  /**
   * Stops the runtime. Graceful (the default) lets running tasks finish, up to `timeoutMs`;
   * otherwise, or after the timeout, they are interrupted and run again on the next open.
   * Idempotent: later calls return the first call's promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceful ?? true, options.timeoutMs);
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(graceful: boolean, timeoutMs: number | undefined): Promise<void> {
    this.cron.stop();
    this.sweeper.stop();
    await Promise.allSettled(this.adding);
    if (graceful) {
      const drained = this.engine.dispatcher.drain();
      if (timeoutMs === undefined) await drained;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
      }
    }
    this.engine.stop();
    await this.engine.parts.pool.destroy();
    await this.engine.parts.writer.flush();
    await this.store.close();
    this.bus.complete();
  }

  private assertOpen(action: string): void {
    if (this.closing !== undefined) throw new RuntimeClosedError(action);
  }

  private prepare(type: string, payload: unknown, options: SubmitOptions | undefined): NewTask {
    const resolved = this.resolveOptions(type, options);
    return newTask(type, payload, encodePayload(payload), resolved, NO_PARENTS);
  }

  /** The type's defaults with the submit's options applied: checks both (typed errors). */
  private resolveOptions(type: string, options: SubmitOptions | undefined): Readonly<ResolvedSubmitOptions> {
    if (!this.types.has(type)) {
      if (typeof type !== 'string') throw new InvalidOptionError('type', `expected a task type name (string), got ${typeof type}.`);
      throw new UnknownTaskTypeError(type, [...this.types.keys()]);
    }
    return resolveSubmitOptions(options, this.defaultsOf(type));
  }

  /** A type's submit defaults, made on first use (see defaultSubmitOptions). */
  private defaultsOf(type: string): Readonly<ResolvedSubmitOptions> {
    let defaults = this.submitDefaults.get(type);
    if (defaults === undefined) {
      const typeOptions = this.types.get(type)!;
      defaults = defaultSubmitOptions({
        priority: typeOptions.priority ?? 'normal',
        timeoutMs: typeOptions.timeoutMs ?? this.options.timeoutMs,
        retries: typeOptions.retries ?? 0,
        backoff: typeOptions.backoff ?? null,
      });
      this.submitDefaults.set(type, defaults);
    }
    return defaults;
  }

  /** Where each parent of a new task stands; an unknown one rejects the submit. */
  private async parentStates(ids: string[]): Promise<ParentState[]> {
    const states: ParentState[] = [];
    for (const id of ids) {
      const live = this.engine.live.get(id);
      if (live !== undefined) {
        states.push({ id, status: live.status });
        continue;
      }
      const stored = await this.stored(id);
      if (stored === undefined) throw new TaskNotFoundError(id);
      states.push({ id, status: stored.status, result: stored.result, error: stored.error });
    }
    return states;
  }

  /**
   * Applies an operation to a live task at once, in the caller's turn, so calls take effect
   * in the order they were made. A task that is not live is finished (ERR_INVALID_TRANSITION)
   * or unknown (ERR_TASK_NOT_FOUND), which takes a look in the store.
   */
  private act(id: string, action: string, apply: (task: LiveTask) => Promise<void>): Promise<void> {
    let task: LiveTask | undefined;
    try {
      this.assertOpen(action);
      task = this.engine.live.get(id);
      if (task !== undefined) return apply(task);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.notLive(id, action);
  }

  private async notLive(id: string, action: string): Promise<never> {
    const stored = await this.stored(id);
    if (stored === undefined) throw new TaskNotFoundError(id);
    throw new InvalidTransitionError(id, stored.status, action);
  }

  private async stored(id: string): Promise<Task | undefined> {
    await this.pendingWrites('read a task');
    return this.store.get(id);
  }

  /**
   * Commits what is waiting, so a read sees every change already announced. A read that
   * was waiting here when close() began fails as any call after close does: the store
   * may be gone by the time the commit is in.
   */
  private async pendingWrites(action: string): Promise<void> {
    this.engine.dispatcher.syncStarts();
    await this.engine.parts.writer.flush();
    this.assertOpen(action);
  }

  /** Shared by every handle of this runtime. */
  private readonly handleSource: HandleSource<LiveTask> = {
    observe: (id) => this.observe(id),
    result: (task) => this.result(task),
  };

  private handle<Result>(task: LiveTask): TaskHandle<Result> {
    return createHandle<Result, LiveTask>(task.id, this.handleSource, task);
  }

  /**
   * A handle holds its task's LiveTask, which outlives the task's place in the ledger, so a
   * result is always answered from memory: by waiting for the finish, or from how it ended.
   * Either way it resolves once the task's last row is committed.
   */
  private async result<Result>(task: LiveTask): Promise<Result> {
    this.assertOpen('wait for a result');
    const { ending } = task;
    if (ending === undefined) {
      return new Promise<Result>((resolve, reject) => {
        (task.resultWaiters ??= []).push({ resolve: resolve as (value: unknown) => void, reject });
      });
    }
    // Finished already (a short task often ends before submit() has resolved).
    await this.engine.parts.writer.ack();
    this.assertOpen('wait for a result');
    if (ending.status === 'completed') return (ending.result === null ? undefined : deserialize(ending.result)) as Result;
    throw settledError(task.id, ending.status, ending.error);
  }
}
