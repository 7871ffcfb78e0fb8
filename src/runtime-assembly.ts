/**
 * Builds what a TaskRuntime runs on, in order: options, store (and its lock), worker
 * threads (one imports the handlers module to learn the task types), the write batcher,
 * the state owner and the dispatcher, then recovery of the unfinished tasks. If any step
 * fails, what was opened is closed again before the error is thrown.
 */
import { MAX_BATCH } from './workers/batch-definition.js';
import { HandlersLoadError, isUnavailable } from './errors.js';
import { resolveRuntimeOptions, type ResolvedRuntimeOptions } from './options/runtime-options.js';
import { BatchPlanner } from './scheduler/batch-planner.js';
import { Dispatcher } from './scheduler/dispatcher.js';
import { TaskStateMachine, type ParentLookup } from './scheduler/task-states.js';
import { RetentionSweeper } from './scheduler/retention.js';
import { DispatchLimits } from './scheduler/dispatch-limits.js';
import { dispatcherGroups, publishGroups } from './group-limits.js';
import { redact } from './store/postgres/pg-errors.js';
import { SqliteTaskStore } from './store/sqlite-store.js';
import type { TypeRate } from './store/task-claims.js';
import type { TaskStore } from './store/task-store.js';
import { WriteBatcher } from './store/write-batcher.js';
import { EventBus } from './streams/event-bus.js';
import { MetricsRecorder } from './streams/metrics.js';
import { StoreHealthMonitor } from './streams/store-health.js';
import { StoredEvents } from './streams/stored-events.js';
import { TaskSpans } from './telemetry/task-spans.js';
import { joinQueue, type QueueMembership, type SharedParts } from './runtime-queue.js';
import type { RuntimeOptions, TaskTypeOptions } from './types.js';
import { ControlSlots } from './workers/control.js';
import { WorkerPool } from './workers/pool.js';
import type { DescribeResponse } from './workers/protocol.js';

/** Batches of short tasks: at most this much expected work, and this many tasks, per call. */
const BATCHING = { budgetMs: 2, maxBatch: 64 };

export interface Assembly {
  types: ReadonlyMap<string, TaskTypeOptions>;
  /** Where reads go (list, stats, a finished task) and the schedules are kept. */
  store: TaskStore;
  /** The state owner: every live task, and every change of one. */
  tasks: TaskStateMachine;
  bus: EventBus;
  health: StoreHealthMonitor;
  metrics: MetricsRecorder;
  options: ResolvedRuntimeOptions;
  sweeper: RetentionSweeper;
  /** What may start now: caps and rates by type and group. */
  limits: DispatchLimits;
  /** A queue that several hosts share (PostgreSQL), or null (a SQLite file this host owns). */
  shared: SharedParts | null;
  /** Starts taking tasks from a shared queue (nothing to start on a SQLite file): once open() has resolved. */
  start(): void;
  /** Stops the state owner, then the threads, then commits what is left and closes the store. */
  release(): Promise<void>;
}

/** A disk that failed a write (full, or an I/O error): the batch is kept and written again later. */
const diskFailure = (error: unknown): boolean => {
  const code = (error as { code?: unknown })?.code;
  return code === 'ERR_STORE_FULL' || code === 'ERR_STORE_IO';
};

/** How long a shared store's batch of changes waits for more (see WriteBatcher's lingerMs). */
const SHARED_LINGER_MS = 5;

async function openStore(options: ResolvedRuntimeOptions): Promise<TaskStore> {
  if (options.shared === null) return SqliteTaskStore.open(options.database, { durability: options.durability, fileMode: options.fileMode });
  // Loaded only for a queue on PostgreSQL: a host on a SQLite file starts without the driver.
  const { PgTaskStore } = await import('./store/postgres/pg-task-store.js');
  return PgTaskStore.open({ connectionString: options.database, queue: options.shared.queue });
}

export async function assemble(options: RuntimeOptions): Promise<Assembly> {
  const resolved = resolveRuntimeOptions(options);
  // Imported while the store opens and the threads start: it takes tens of ms. It never
  // rejects (an API that cannot load means no spans), so a failed open leaves nothing behind.
  const spansLoading = TaskSpans.open(resolved.tracing);
  const store = await openStore(resolved);
  // Two calls' worth per thread: one running, one sent ahead (Dispatcher.dispatch).
  // Slots for two calls a thread (one running, one sent ahead), plus one batch handler's
  // call a thread: the handlers module is not known yet, so room for the largest one allowed.
  const controls = new ControlSlots(Math.max(1, resolved.concurrency) * (2 * BATCHING.maxBatch + MAX_BATCH));
  let dispatcher: Dispatcher | undefined;
  const pool = new WorkerPool({
    // A producer-only host (concurrency 0) still needs one to learn the task types.
    threads: Math.max(1, resolved.concurrency),
    handlers: resolved.handlers,
    control: controls.buffer,
    progressIntervalMs: resolved.progressIntervalMs,
    maxTasksPerThread: resolved.maxTasksPerThread,
    maxPayloadBytes: resolved.maxPayloadBytes,
    resourceLimits: resolved.resourceLimits,
    niceIncrement: resolved.niceIncrement,
    services: resolved.services,
    onEvent: (event) => dispatcher?.onWorkerEvent(event),
    onThreadReady: () => dispatcher?.wake(),
  });
  let tasks: TaskStateMachine | undefined;
  let limits: DispatchLimits | undefined;
  let membership: QueueMembership | undefined;
  let health: StoreHealthMonitor | undefined;
  try {
    const described = await describe(pool, resolved.handlers);
    // It runs nothing: its thread was only for the task types.
    if (resolved.concurrency === 0) await pool.destroy();
    const bus = new EventBus();
    const monitor = new StoreHealthMonitor(
      resolved.shared === null ? resolved.database : `queue "${resolved.shared.queue}" at ${redact(resolved.database)}`,
    );
    health = monitor;
    const writer = new WriteBatcher(store, {
      // What waits or fails is told to its callers (a submit, a result); the host hears
      // once per episode of failed writes, and once more when it is over.
      onFailing: (error) => monitor.failing('writes', error),
      onRecovered: () => monitor.working('writes'),
      retryable: store.sharing === 'shared' ? isUnavailable : undefined,
      lingerMs: store.sharing === 'shared' ? SHARED_LINGER_MS : 0,
      keepable: store.sharing === 'exclusive' ? diskFailure : undefined,
    });
    const sweeper = new RetentionSweeper({
      store,
      retention: resolved.retention,
      beforeSweep: () => writer.flush(),
      onError: (error) => process.emitWarning(`offthread: removing old tasks failed (retried in a minute): ${String(error)}`),
    });
    const metrics = new MetricsRecorder();
    const events = new StoredEvents(bus, writer);
    const spans = await spansLoading;
    tasks = new TaskStateMachine({
      writer,
      events,
      metrics,
      progressIntervalMs: resolved.progressIntervalMs,
      agingMs: resolved.agingMs,
      retention: sweeper,
      spans,
    });
    const planner = new BatchPlanner(BATCHING);
    const owner = tasks;
    limits = new DispatchLimits({
      types: new Map(Object.entries(described.options)),
      groups: dispatcherGroups(store, resolved.groups),
      release: (parked) => {
        for (const task of parked) owner.putBack(task);
        dispatcher?.wake();
      },
      runningOf: (group) => owner.select({ status: 'running' }).filter((task) => task.group === group),
    });
    dispatcher = new Dispatcher({
      source: tasks,
      pool,
      controls,
      planner,
      limits,
      batches: new Map(Object.entries(described.batches ?? {})),
      concurrency: resolved.concurrency,
      cancelGraceMs: resolved.cancelGraceMs,
      resourceLimits: resolved.resourceLimits,
      events,
    });
    tasks.bindRunner(dispatcher);
    const collecting = dispatcher;
    tasks.countHeldBack(() => limits!.parked + collecting.collected);
    const lookup: ParentLookup = async (id) => {
      const parent = await store.get(id);
      return parent && { id, status: parent.status, result: parent.result, error: parent.error };
    };
    await publishGroups(store, resolved.groups);
    const recovered = await store.recover(Date.now());
    await tasks.restore(recovered, lookup);
    if (store.sharing === 'shared') {
      membership = await joinQueue({
        store,
        owner,
        bus,
        ownEvents: events,
        writer,
        types: Object.keys(described.options),
        rates: typeRates(described.options),
        concurrency: resolved.concurrency,
        planner,
        leaseMs: resolved.shared!.leaseMs,
        agingMs: resolved.agingMs,
        lookup,
        health: monitor,
      });
    }
    const member = membership;
    const release = async (): Promise<void> => {
      await member?.leave();
      // What it holds and did not finish goes back to the queue, once its own writes are in:
      // tasks it claimed and did not start, and runs a close that did not wait interrupted.
      const unfinished = member === undefined ? [] : owner.heldIds();
      owner.stop();
      if (resolved.concurrency > 0) await pool.destroy();
      try {
        // One last try: a disk still failing now fails the close, not hangs it.
        writer.stopRetrying();
        await writer.flush();
        if (unfinished.length > 0) await store.release(unfinished);
      } finally {
        writer.close();
        monitor.close();
        await store.close();
      }
    };
    return { types: new Map(Object.entries(described.options)), store, tasks, bus, health: monitor, metrics, options: resolved, sweeper, limits: limits!, shared: member?.shared ?? null, start: () => member?.start(), release };
  } catch (error) {
    // Nothing opened here may outlive a failed open: threads, the lock, the file.
    await membership?.leave();
    tasks?.stop();
    health?.close();
    if (resolved.concurrency > 0) await pool.destroy();
    await store.close();
    throw error;
  }
}

/** A worker imports the handlers module, so the host learns the task types without running it. */
async function describe(pool: WorkerPool, handlers: string): Promise<DescribeResponse> {
  try {
    return await pool.describe();
  } catch (error) {
    throw new HandlersLoadError(handlers, error);
  }
}

/** The start rates of the types that have one, for the claims of a shared queue. */
function typeRates(options: Readonly<Record<string, TaskTypeOptions>>): TypeRate[] {
  const rates: TypeRate[] = [];
  for (const [type, { rate }] of Object.entries(options)) if (rate !== undefined) rates.push({ type, count: rate.count, perMs: rate.perMs });
  return rates;
}
