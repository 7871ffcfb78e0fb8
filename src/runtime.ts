/**
 * TaskRuntime: the host-side public API. It checks input, then hands the work to the state
 * owner (src/scheduler/task-states.ts), which holds every live task; reads of finished
 * tasks go to the store (src/store), events come from the bus (src/streams). All of them
 * are built at open (./runtime-assembly.ts) and released at close.
 */
import { defer, interval, lastValueFrom, map, Observable, takeUntil, throwError } from 'rxjs';
import { InvalidOptionError, RuntimeClosedError } from './errors.js';
import { checkPriority, nonEmptyString } from './options/checks.js';
import { checkGroupLimits } from './options/limit-options.js';
import { changeGroupLimits } from './group-limits.js';
import type { DispatchLimits } from './scheduler/dispatch-limits.js';
import { checkCleanupOptions } from './options/cleanup-options.js';
import { pageAfter } from './inspect/page-after.js';
import { listMerged } from './list-merge.js';
import { metricsText } from './streams/metrics-text.js';
import { abortedBeforeSubmit } from './streams/abort-follow.js';
import { resolveFilter, resolveListFilter } from './options/list-filter.js';
import type { ResolvedRuntimeOptions } from './options/runtime-options.js';
import { assemble, type Assembly } from './runtime-assembly.js';
import { QueueSide } from './queue-side.js';
import { TaskCommands } from './runtime-commands.js';
import { TaskSubmits } from './runtime-submits.js';
import type { Dashboard, DashboardOptions } from './dashboard/options.js';
import type { SearchReads } from './dashboard/source.js';
import { CronScheduler, type ScheduleInfo, type ScheduleOptions } from './scheduler/cron.js';
import type { LiveTask } from './scheduler/live-task.js';
import type { NewTask, TaskStateMachine } from './scheduler/task-states.js';
import { settledError } from './scheduler/task-endings.js';
import { withCheckpoint } from './store/codec.js';
import type { TaskStore } from './store/task-store.js';
import type { EventBus } from './streams/event-bus.js';
import type { MetricsRecorder, RuntimeMetrics } from './streams/metrics.js';
import { createHandle, type HandleSource, type TaskHandle } from './streams/task-handle.js';
import { observeTask } from './streams/task-observable.js';
import { watchTasks } from './streams/watch.js';
import { TaskTypes } from './task-types.js';
import { endedSnapshot, refuseOnProducer, withUnstored } from './unstored.js';
import type {
  AnyTask,
  AnyTaskEvent,
  OpenOptions,
  ScheduleArgs,
  SubmitArgs,
  SubmitItemOf,
  TaskResult,
  TaskType,
  Untyped,
  UntypedOnly,
} from './typed-tasks.js';
import type {
  CleanupOptions,
  CloseOptions,
  ListFilter,
  GroupLimits,
  Priority,
  RuntimeOptions,
  SubmitItem,
  SubmitOptions,
  Task,
  TaskFilter,
  TaskStats,
  StoreHealth,
} from './types.js';

/**
 * `Tasks`: the type of the handlers module's namespace (`import type * as tasks from
 * './tasks.js'`, then `TaskRuntime.open<typeof tasks>(...)`), from which type names,
 * payloads and results are checked and typed; see ./typed-tasks.ts. Without it, `Untyped`.
 */
export class TaskRuntime<Tasks = Untyped> {
  private closing: Promise<void> | undefined;
  /** The state owner: every live task, and every change of one. */
  private readonly tasks: TaskStateMachine;
  /** Where reads of finished tasks, lists and stats go. */
  private readonly store: TaskStore;
  private readonly bus: EventBus;
  private readonly metricsRecorder: MetricsRecorder;
  /** Caps and rates by type and group. */
  private readonly limits: DispatchLimits;
  private readonly options: ResolvedRuntimeOptions;
  /** The task types (the handlers module's defineTask exports) and how a submit of one is checked. */
  private readonly types: TaskTypes;
  private readonly cron: CronScheduler;
  /** What differs on a queue that several hosts share (PostgreSQL); null on a SQLite file this host owns. */
  private readonly queue: QueueSide | null;
  /** Dashboards this runtime serves; close() closes them first. */
  private readonly dashboards = new Set<Dashboard>();
  /** Submits: a checked task handed to the state owner or the shared queue, and when it resolves. */
  private readonly submits: TaskSubmits;
  /** Cancel, pause, resume, setPriority and send, for one task or those a filter matches. */
  private readonly commands: TaskCommands;

  private constructor(private readonly parts: Assembly) {
    this.queue =
      parts.shared === null
        ? null
        : new QueueSide({
            tasks: parts.tasks,
            store: parts.store,
            shared: parts.shared,
            observe: (id) => this.untyped.observe(id),
            assertOpen: (action) => this.assertOpen(action),
            pendingWrites: (action) => this.pendingWrites(action),
            parentStates: (ids) => this.submits.parentStates(ids),
          });
    this.tasks = parts.tasks;
    this.store = parts.store;
    this.bus = parts.bus;
    this.metricsRecorder = parts.metrics;
    this.limits = parts.limits;
    this.options = parts.options;
    this.types = new TaskTypes(parts.types, parts.options.timeoutMs, parts.options.maxPayloadBytes, parts.options.durable);
    this.submits = new TaskSubmits({
      tasks: parts.tasks,
      queue: this.queue,
      types: this.types,
      concurrency: parts.options.concurrency,
      handle: (task) => this.handle(task),
      cancel: (id) => this.cancel(id),
      stored: (id) => this.stored(id),
      assertOpen: (action) => this.assertOpen(action),
      assertWritable: () => this.assertWritable(),
    });
    this.commands = new TaskCommands({
      tasks: parts.tasks,
      store: parts.store,
      queue: this.queue,
      assertOpen: (action) => this.assertOpen(action),
      pendingWrites: (action) => this.pendingWrites(action),
    });
    this.cron = new CronScheduler({
      store: parts.store.schedules,
      health: parts.health,
      submit: (type, payload, submitOptions) => this.untyped.submit(type, payload, submitOptions as SubmitOptions),
      // A task this host holds is unfinished; one it does not may be another host's (a
      // shared store), or finished: the store says which.
      isUnfinished: async (id) => {
        if (parts.tasks.get(id) !== undefined) return true;
        const status = (await this.stored(id))?.status;
        return status === 'queued' || status === 'running' || status === 'paused';
      },
      validate: (type, payload, submitOptions) => {
        if ((submitOptions as SubmitOptions | undefined)?.dependsOn !== undefined) {
          throw new InvalidOptionError('dependsOn', 'a schedule starts a new task on each tick; it cannot depend on other tasks.');
        }
        if ((submitOptions as SubmitOptions | undefined)?.signal !== undefined) {
          throw new InvalidOptionError('signal', 'a schedule is stored and outlives this process; cancel its tasks, or unschedule it.');
        }
        const input = this.types.prepare(type, payload, submitOptions as SubmitOptions);
        // Its ticks would submit tasks this host cannot run (see TaskSubmits in runtime-submits.ts).
        if (input.durable === false && parts.options.concurrency === 0) throw refuseOnProducer('durable');
      },
    });
  }

  /**
   * Opens the store, starts the worker threads and re-queues unfinished tasks. With
   * `open<typeof tasks>`, the runtime is typed from the handlers module (see ./typed-tasks.ts).
   */
  static async open<Tasks = Untyped>(options: OpenOptions<Tasks>): Promise<TaskRuntime<Tasks>> {
    const parts = await assemble(options as RuntimeOptions);
    const runtime = new TaskRuntime<Tasks>(parts);
    try {
      await runtime.cron.start();
    } catch (error) {
      await runtime.close({ graceful: false });
      throw error;
    }
    parts.sweeper.start();
    // Not before open() has resolved (see Assembly.start).
    setImmediate(() => parts.start());
    return runtime;
  }

  /** Every task event: created, started, progress, paused, resumed, completed, failed, cancelled. */
  get events$(): Observable<AnyTaskEvent<Tasks>> {
    return this.bus.events$ as Observable<AnyTaskEvent<Tasks>>;
  }

  /**
   * Whether the store does what the runtime asks: the state now, then each change (`failing`
   * with the error that began it, `ok` once everything works again); completes at close.
   * While failing, nothing is lost: writes wait and are tried again by themselves.
   */
  get health$(): Observable<StoreHealth> {
    return this.parts.health.health$;
  }

  /** The task types the handlers module exports. */
  get taskTypes(): TaskType<Tasks>[] {
    return this.types.names as TaskType<Tasks>[];
  }

  /**
   * Stores a task (committed before this resolves) and queues it. On a typed runtime the
   * type name and payload are checked against the handler and the handle's result is typed;
   * on an untyped one, `submit<Result>(...)` says what the result is, as it always did (the
   * first signature, for untyped runtimes only, so an old call keeps its meaning).
   */
  submit<Result = unknown>(type: UntypedOnly<Tasks, string>, payload?: unknown, options?: SubmitOptions): Promise<TaskHandle<Result>>;
  submit<Type extends TaskType<Tasks>>(type: Type, ...rest: SubmitArgs<Tasks, Type>): Promise<TaskHandle<TaskResult<Tasks, Type>>>;
  submit<Result = unknown>(type: string, payload?: unknown, options?: SubmitOptions): Promise<TaskHandle<Result>> {
    let input: NewTask;
    try {
      this.assertOpen('submit');
      input = this.types.prepare(type, payload, options);
      // A task that is not stored needs no disk: a store that cannot write does not refuse it.
      if (input.durable !== false) this.assertWritable();
      if (options?.signal?.aborted === true) throw abortedBeforeSubmit();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submits.submit<Result>(input, options?.signal);
  }

  /**
   * Submits several tasks in one transaction: all are stored, or none. On a typed runtime
   * each item's payload is checked against its type's handler, and each handle is typed by
   * its item's type (a tuple of items gives a tuple of handles).
   */
  submitMany<Result = unknown>(items: UntypedOnly<Tasks, SubmitItem[]>): Promise<TaskHandle<Result>[]>;
  submitMany<const Items extends readonly SubmitItemOf<Tasks>[]>(
    items: Items,
  ): Promise<{ -readonly [I in keyof Items]: TaskHandle<TaskResult<Tasks, Items[I]['type']>> }>;
  submitMany<Result = unknown>(items: SubmitItem[]): Promise<TaskHandle<Result>[]> {
    return this.submits.submitMany<Result>(items);
  }

  cancel(id: string): Promise<void> {
    return this.commands.act(id, { action: 'cancel' }, 'cancel', (task) => this.tasks.cancel(task));
  }

  pause(id: string): Promise<void> {
    return this.commands.act(id, { action: 'pause' }, 'pause', (task) => this.tasks.pause(task));
  }

  resume(id: string): Promise<void> {
    return this.commands.act(id, { action: 'resume' }, 'resume', (task) => this.tasks.resume(task));
  }

  /** Changes the priority of a task that has not started (queued or paused); it moves in the queue. */
  setPriority(id: string, priority: Priority): Promise<void> {
    let checked: Priority;
    try {
      checked = checkPriority(priority);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.commands.act(id, { action: 'setPriority', priority: checked }, 'change the priority of', (task) => this.tasks.setPriority(task, checked));
  }

  /** Cancels every unfinished task the filter matches, in one transaction; resolves to how many. */
  cancelMany(filter: TaskFilter<TaskType<Tasks>> = {}): Promise<number> {
    return this.commands.many('cancel', filter, (task) => this.tasks.cancel(task), (task) => task.cancelRequested);
  }

  /** Pauses every queued or running task the filter matches; resolves to how many. */
  pauseMany(filter: TaskFilter<TaskType<Tasks>> = {}): Promise<number> {
    return this.commands.many('pause', filter, (task) => this.tasks.pause(task), (task) => task.pauseRequested);
  }

  /** Resumes every paused task the filter matches; resolves to how many. */
  resumeMany(filter: TaskFilter<TaskType<Tasks>> = {}): Promise<number> {
    return this.commands.many('resume', filter, (task) => this.tasks.resume(task));
  }

  /** The task now. On a typed runtime, a union by `type`: check `type` to type payload and result. */
  async get(id: string): Promise<AnyTask<Tasks> | undefined> {
    this.assertOpen('get');
    const live = this.tasks.get(id);
    if (live === undefined) return this.stored(id) as Promise<AnyTask<Tasks> | undefined>;
    return withCheckpoint(this.tasks.snapshot(live), live.checkpoint) as AnyTask<Tasks>;
  }

  /** Tasks matching the filter, newest first. */
  async list(filter: ListFilter<TaskType<Tasks>> = {}): Promise<AnyTask<Tasks>[]> {
    this.assertOpen('list');
    const checked = resolveListFilter(filter);
    await this.pendingWrites('list');
    // Live tasks that are not stored join the store's page (see ./list-merge.ts).
    const { before, limit: _limit, offset: _offset, ...match } = checked;
    const matches = this.tasks.selectUnstored(match);
    const live = before === undefined ? undefined : this.tasks.get(before);
    const cursor = live !== undefined && !live.durable ? live : undefined;
    if (matches.length === 0 && cursor === undefined) return pageAfter(this.store, checked) as Promise<AnyTask<Tasks>[]>;
    return listMerged(this.store, checked, { matches, cursor, snapshot: (task) => this.tasks.snapshot(task) }) as Promise<AnyTask<Tasks>[]>;
  }

  async stats(): Promise<TaskStats> {
    this.assertOpen('stats');
    await this.pendingWrites('stats');
    return withUnstored(await this.store.stats(), this.tasks.unstoredTasks());
  }

  /** Removes finished tasks that finished at least `olderThanMs` ago; returns how many. */
  async cleanup(options: CleanupOptions): Promise<number> {
    this.assertOpen('cleanup');
    const checked = checkCleanupOptions(options);
    await this.pendingWrites('cleanup');
    return this.store.cleanup(checked, Date.now());
  }

  /**
   * New limits for a group's tasks (`{ concurrency?, rate? }`), in place of its own or the
   * `default` of the `groups` option; null goes back to `default`. A cap counts the group's
   * tasks running now; tasks held back by the old limits that the new ones allow start at
   * once. On a shared queue (PostgreSQL), the queue's limits, which every host's claims
   * hold: resolves once they are stored. Bad limits throw at once.
   */
  setGroupLimits(group: string, limits: GroupLimits | null): Promise<void> {
    this.assertOpen('setGroupLimits');
    const name = nonEmptyString('group', group);
    return changeGroupLimits(this.store, this.limits, name, limits === null ? null : checkGroupLimits('limits', limits));
  }

  /**
   * Sends a message to a running task: its handler reads it from `ctx.messages`. Rejects
   * with ERR_INVALID_TRANSITION when the task is not running, ERR_TASK_NOT_FOUND for an
   * unknown id, ERR_NOT_CLONEABLE for a message that cannot be cloned. On a shared queue it
   * reaches the host that runs the task. Resolves once sent: delivery ends with the run.
   */
  send(id: string, message: unknown): Promise<void> {
    return this.commands.act(id, { action: 'send', message }, 'send', (task) => {
      this.tasks.send(task, message);
      return Promise.resolve();
    });
  }

  /**
   * The values a task's handler emits (`ctx.emit`), as `handle.output$` gives them: every
   * one, in order, completing once the task has ended and erroring with its failure.
   */
  output$(id: string): Observable<unknown> {
    if (this.closing !== undefined) return throwError(() => new RuntimeClosedError('read output'));
    return defer(() => {
      const live = this.tasks.get(id);
      if (live !== undefined) return this.tasks.outputs.read(id, this.result(live));
      // On a shared queue, from whichever host runs it (src/queue-side.ts).
      return this.queue === null ? this.tasks.outputs.read(id, this.endOf(id)) : this.queue.output(id, this.endOf(id));
    });
  }

  /** Resolves when a task this host does not hold ends (as observe sees it), rejecting as its result() would. */
  private async endOf(id: string): Promise<void> {
    const last = await lastValueFrom(this.untyped.observe(id));
    if (last.status !== 'completed') throw settledError(id, last.status, last.error);
  }

  /** Snapshots of one task until it has finished. */
  observe(id: string): Observable<AnyTask<Tasks>> {
    if (this.closing !== undefined) return throwError(() => new RuntimeClosedError('observe'));
    // The task last seen live: one that is not stored is read from here once it has ended.
    let seen: LiveTask | undefined;
    return observeTask(id, this.bus, {
      liveSnapshot: (taskId) => {
        const live = this.tasks.get(taskId);
        if (live !== undefined) seen = live;
        return live?.snapshot();
      },
      storedSnapshot: (taskId) => this.stored(taskId),
      endedSnapshot: (_taskId, end) => (seen === undefined ? undefined : endedSnapshot(seen, end)),
    }) as Observable<AnyTask<Tasks>>;
  }

  /**
   * The tasks matching a `list` filter, at once and again (at most every
   * `progressIntervalMs`) whenever one of them, or one entering the filter, changes.
   */
  watch(filter: TaskFilter<TaskType<Tasks>> = {}): Observable<AnyTask<Tasks>[]> {
    if (this.closing !== undefined) return throwError(() => new RuntimeClosedError('watch'));
    let checked: TaskFilter;
    try {
      checked = resolveFilter(filter);
    } catch (error) {
      return throwError(() => error);
    }
    return watchTasks(checked, { list: (f) => this.untyped.list(f), events$: this.bus.events$ }, this.options.progressIntervalMs) as Observable<
      AnyTask<Tasks>[]
    >;
  }

  /** Counts and run/wait time percentiles per task type and per priority, since open. */
  metrics(): RuntimeMetrics {
    this.assertOpen('read metrics');
    return this.metricsRecorder.snapshot();
  }

  /**
   * The runtime's metrics in the Prometheus text format (serve it at /metrics): tasks per
   * status (gauges, from the store), worker threads, tasks this host finished per type and
   * status (counters) and their run and wait times per type (histograms), since it opened.
   */
  async metricsText(): Promise<string> {
    const stats = await this.stats();
    return metricsText({ stats, metrics: this.metrics(), threads: this.options.concurrency, histograms: this.metricsRecorder.histograms() });
  }

  /** `metrics()` every `metricsIntervalMs` while subscribed; completes at close. */
  get metrics$(): Observable<RuntimeMetrics> {
    const closed$ = new Observable<void>((subscriber) => this.bus.events$.subscribe({ complete: () => subscriber.next() }));
    return interval(this.options.metricsIntervalMs).pipe(
      takeUntil(closed$),
      map(() => this.metricsRecorder.snapshot()),
    );
  }

  /**
   * Submits `type` on a cron schedule (seconds allowed: 6 fields), kept in the store. A
   * schedule does not start a task while its previous one is unfinished unless `overlap`;
   * a tick missed while the host was down runs once at open. Same name: replaced.
   */
  schedule<Type extends TaskType<Tasks>>(name: string, cron: string, type: Type, ...rest: ScheduleArgs<Tasks, Type>): Promise<ScheduleInfo>;
  async schedule(name: string, cron: string, type: string, payload?: unknown, options?: ScheduleOptions): Promise<ScheduleInfo> {
    this.assertOpen('schedule');
    return this.cron.schedule(name, cron, type, payload, options);
  }

  async schedules(): Promise<ScheduleInfo[]> {
    this.assertOpen('list schedules');
    return this.cron.list();
  }

  /**
   * Submits a schedule's task now, outside its ticks; its next tick stays as it was. The run
   * counts as the schedule's last (one without `overlap` waits for it). ERR_INVALID_OPTION
   * when there is no schedule of that name.
   */
  async runSchedule<Result = TaskResult<Tasks, TaskType<Tasks>>>(name: string): Promise<TaskHandle<Result>> {
    this.assertOpen('run a schedule');
    const submitted = await this.cron.runNow(name);
    if (submitted === undefined) throw new InvalidOptionError('name', `there is no schedule named "${name}" (see schedules()).`);
    // The scheduler submits through this runtime's submit(): what it gave back is a handle.
    return submitted as TaskHandle<Result>;
  }

  /** Removes a schedule; resolves to whether there was one. */
  async unschedule(name: string): Promise<boolean> {
    this.assertOpen('unschedule');
    return this.cron.unschedule(name);
  }

  /**
   * Serves a dashboard of this runtime's tasks over HTTP (docs/dashboard.md): on 127.0.0.1
   * by default; another host requires a `token`. Its code loads on the first call, so a
   * runtime that never calls this pays nothing. Rejects with ERR_INVALID_OPTION, or
   * ERR_DASHBOARD_LISTEN when the port is taken.
   */
  async dashboard(options?: DashboardOptions): Promise<Dashboard> {
    this.assertOpen('open a dashboard');
    const [{ openDashboard }, { runtimeSource }] = await Promise.all([import('./dashboard/server.js'), import('./dashboard/source.js')]);
    // The list's text search reads the store as list() does: after the writes already announced.
    const reads: SearchReads = {
      search: async (filter, search) => {
        this.assertOpen('search tasks');
        await this.pendingWrites('search tasks');
        return this.store.search(filter, search);
      },
      findByPrefix: async (prefix, limit) => {
        this.assertOpen('find tasks');
        await this.pendingWrites('find tasks');
        return this.store.findByPrefix(prefix, limit);
      },
    };
    const served = await openDashboard(runtimeSource(this, this.options.database, this.options.concurrency, reads), options);
    const dashboard: Dashboard = {
      url: served.url,
      close: () => {
        this.dashboards.delete(dashboard);
        return served.close();
      },
    };
    if (this.closing !== undefined) {
      await served.close();
      throw new RuntimeClosedError('open a dashboard');
    }
    this.dashboards.add(dashboard);
    return dashboard;
  }

  /** Resolves once nothing is queued or running (paused tasks do not count). */
  async whenIdle(): Promise<void> {
    this.assertOpen('whenIdle');
    return this.tasks.whenIdle();
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
    await Promise.all([...this.dashboards].map((dashboard) => dashboard.close()));
    await this.cron.stop();
    this.parts.sweeper.stop();
    await this.submits.settled();
    if (graceful) {
      const drained = this.tasks.drain();
      if (timeoutMs === undefined) await drained;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
      }
    }
    await this.parts.release();
    this.bus.complete();
  }

  /**
   * New tasks are turned away while the store cannot write (a full disk): those accepted
   * before wait in memory for their write, and only they (see WriteBatcher's keepable).
   */
  private assertWritable(): void {
    const refusal = this.tasks.writeRefusal();
    if (refusal !== undefined) throw refusal;
  }

  /** This runtime as the untyped one: its own calls pass type names and tasks as strings and `Task`s. */
  private get untyped(): TaskRuntime {
    return this as unknown as TaskRuntime;
  }

  private assertOpen(action: string): void {
    if (this.closing !== undefined) throw new RuntimeClosedError(action);
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
    await this.tasks.beforeRead();
    this.assertOpen(action);
  }

  /** Shared by every handle of this runtime. */
  private readonly handleSource: HandleSource<LiveTask> = {
    observe: (id) => this.untyped.observe(id),
    result: (task) => this.result(task),
    output: (task) => defer(() => this.tasks.outputs.read(task.id, this.result(task))),
  };

  private handle<Result>(task: LiveTask): TaskHandle<Result> {
    return createHandle<Result, LiveTask>(task.id, this.handleSource, task);
  }

  /**
   * A handle holds its task's LiveTask, which outlives the task's place in the ledger, so a
   * result is always answered from memory: by waiting for the finish, or from how it ended.
   * Either way it resolves once the task's last row is committed.
   */
  private result<Result>(task: LiveTask): Promise<Result> {
    // Not an async function: the waiter's own promise is handed back, not one wrapping it.
    if (this.closing !== undefined) return Promise.reject(new RuntimeClosedError('wait for a result'));
    if (!task.ended) return this.tasks.waitForEnd(task) as Promise<Result>;
    return this.endedResult<Result>(task);
  }

  /**
   * A task that finished already (a short task often ends before submit() has resolved).
   * One that is not stored waits only for its end to be told (behind stored ends waiting).
   */
  private async endedResult<Result>(task: LiveTask): Promise<Result> {
    await (task.durable ? this.tasks.durable() : this.tasks.told());
    this.assertOpen('wait for a result');
    return this.tasks.endingOf(task) as Result;
  }
}
