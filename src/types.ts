import type { ResourceLimits } from 'node:worker_threads';

/** How urgent a task is. Higher priorities are dispatched first; equal ones in submit order. */
export type Priority = 'low' | 'normal' | 'high';

/** The priorities, lowest first. Index = rank stored in the database. */
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high'];

/**
 * Where a task is in its life. See src/scheduler/transitions.ts for the moves between them.
 * - `queued`: waiting for a worker slot.
 * - `running`: a worker thread is running its handler.
 * - `paused`: held back; either it never started, or its thread is blocked at a checkpoint.
 * - `completed` | `failed` | `cancelled`: finished for good.
 */
export type TaskStatus = 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export const TASK_STATUSES: readonly TaskStatus[] = [
  'queued',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
];

export const FINISHED_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** Why a task failed or was cancelled, as kept on its row. Match on `code`. */
export interface TaskError {
  code: string;
  message: string;
  /**
   * Where the handler threw: the stack of an Error it threw (its first 4 KB), kept on the
   * row with the code and message. Absent for errors the runtime made (a timeout, a crash,
   * a cancel) and for a thrown value that is not an Error.
   */
  stack?: string;
}

/**
 * A task as stored. Times are epoch milliseconds. A typed runtime (`TaskRuntime.open<typeof
 * tasks>`) gives a union of these, one per task type, so that checking `type` narrows
 * `payload` and `result`.
 */
export interface Task<Payload = unknown, Result = unknown, Type extends string = string> {
  id: string;
  type: Type;
  name: string | null;
  description: string | null;
  priority: Priority;
  status: TaskStatus;
  /** 0-100; 100 once completed. */
  progress: number;
  /** The last message given with `ctx.progress(pct, message)`, if any. */
  progressMessage: string | null;
  payload: Payload;
  result: Result | null;
  error: TaskError | null;
  /** How many times a handler has been started for this task (the first run is 1). */
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  updatedAt: number;
  /** Not dispatched before this epoch ms: the due time of a retry (later: of a delayed task). */
  runAt: number | null;
  /** How long one run may take before it is aborted and fails with ERR_TIMEOUT. */
  timeoutMs: number | null;
  /** How many times a failed run is retried. */
  retries: number;
  backoff: Backoff | null;
  /** Dedupe key given at submit, or null. */
  key: string | null;
  /** Ids of the tasks it waits for. */
  dependsOn: string[];
  /** What happens when a parent fails or is cancelled. */
  onParentFailure: 'cancel' | 'run';
  /** The group it was submitted in (a tenant, a user, a document), or null. */
  group: string | null;
  /**
   * The state its handler last saved with `ctx.saveCheckpoint()`, as the next run would get
   * it (`ctx.checkpointState`). Read by `get()` (and the inspector's `get` and `find`);
   * `list()` and `watch()` leave it out, so a page of tasks never decodes one. Absent when
   * the task has none (a completed task's is cleared).
   */
  checkpoint?: unknown;
}

/** How long to wait before a retry. */
export interface Backoff {
  /** `fixed`: always `delayMs`; `exponential`: `delayMs * 2^(retry - 1)`. */
  type: 'fixed' | 'exponential';
  delayMs: number;
  /** Cap on the delay. @default no cap */
  maxDelayMs?: number;
  /** 0-1: the delay is drawn at random from [delay * (1 - jitter), delay]. @default 0 */
  jitter?: number;
}

/** Defaults for every task of one type; a submit's own options win. */
/** At most `count` starts in any window of `perMs` milliseconds. */
export interface RateLimit {
  count: number;
  perMs: number;
}

/** What a group's tasks may take (RuntimeOptions.groups, setGroupLimits). */
export interface GroupLimits {
  /** At most this many of the group's tasks run at once. @default no cap */
  concurrency?: number;
  /** At most `count` of the group's tasks start in any window of `perMs`. @default no limit */
  rate?: RateLimit;
}

export interface TaskTypeOptions {
  /** At most this many tasks of this type run at once. @default no cap (the runtime's concurrency) */
  concurrency?: number;
  /**
   * At most `count` tasks of this type start in any window of `perMs` (an API's quota). A
   * task held back stays queued, and other ready tasks go meanwhile. @default no limit
   */
  rate?: RateLimit;
  /** @default the runtime's timeoutMs */
  timeoutMs?: number;
  /** @default 0 */
  retries?: number;
  /** @default no wait */
  backoff?: Backoff;
  /** @default 'normal' */
  priority?: 'low' | 'normal' | 'high';
  /** Replace a thread after it has run this many tasks of this type (a handler that leaks). @default no limit */
  maxTasksPerThread?: number;
  /**
   * The largest payload and result of this type's tasks, in bytes of their stored encoding.
   * @default the runtime's maxPayloadBytes
   */
  maxPayloadBytes?: number;
  /**
   * Whether this type's tasks are stored (see SubmitOptions.durable); a submit's own
   * `durable` wins. @default the runtime's `durable`
   */
  durable?: boolean;
}

/** Options of `submit`. */
export interface SubmitOptions {
  /** A label for people; not unique. @default null */
  name?: string;
  /** @default null */
  description?: string;
  /** @default 'normal' */
  priority?: Priority;
  /** Abort a run after this many ms (time paused at a checkpoint does not count); it fails with ERR_TIMEOUT. @default the runtime's `timeoutMs` */
  timeoutMs?: number;
  /** Run again this many times after a failure (a throw, a crash, a timeout; never after a cancel). @default 0 */
  retries?: number;
  /** Wait between retries. @default { type: 'fixed', delayMs: 0 } */
  backoff?: Backoff;
  /** Not started before this time (a Date or epoch ms). @default now */
  runAt?: Date | number;
  /**
   * Dedupe key: while a task with this key is unfinished, submitting another returns that
   * task's handle instead of storing a new one. @default none
   */
  key?: string;
  /** Tasks that must complete first; their results are `ctx.dependencies[id]`. @default [] */
  dependsOn?: string[];
  /**
   * When a parent fails or is cancelled: `'cancel'` this task too (ERR_DEPENDENCY_FAILED,
   * and so on down the chain) or `'run'` it anyway (it sees `ctx.failedDependencies`).
   * @default 'cancel'
   */
  onParentFailure?: 'cancel' | 'run';
  /**
   * The group the task belongs to: a tenant, a user, a document. Within one priority, ready
   * tasks are taken round-robin across groups, so a group with many queued tasks cannot
   * starve one with few; groups may have their own concurrency and rate limits (`groups` at
   * open, `setGroupLimits`). @default none (the tasks without a group share one turn)
   */
  group?: string;
  /**
   * Debounce, with `key`: the task starts this many ms after the last submit with its key.
   * A submit with the key of a task that has not started yet replaces that task's payload
   * and pushes its start back (search-as-you-type indexing, autosave); once it has started,
   * a new task is queued under the key, so the last payload always runs. Not with `runAt`.
   * @default none (a key only dedupes)
   */
  debounceMs?: number;
  /**
   * Cancels the task when it aborts, as Piscina's `run({ signal })`: a queued task at once, a
   * running one by the two-phase cancel. Already aborted: the submit rejects with
   * ERR_TASK_CANCELLED and nothing is stored. Not stored with the task: after a restart the
   * task no longer follows it.
   */
  signal?: AbortSignal;
  /**
   * `false`: the task is never written to the store. It runs as any other (priority,
   * progress, pause, cancel, timeouts, retries, events, `result()`), and `get`, `list` and
   * `stats` show it while it lives, but it is lost with the process and forgotten once it
   * ends; `submit()` and its end do not wait for a commit. A durable task cannot depend on
   * it; on a shared queue it runs on the submitting host only. @default the type's, then
   * the runtime's `durable` (true)
   */
  durable?: boolean;
}

/** One item of `submitMany`. */
export interface SubmitItem<Payload = unknown> {
  type: string;
  payload?: Payload;
  options?: SubmitOptions;
}

/** What `list` (and later the batch operations) select. `Type`: a typed runtime's task types. */
export interface TaskFilter<Type extends string = string> {
  status?: TaskStatus | TaskStatus[];
  priority?: Priority | Priority[];
  type?: Type | Type[];
  /** @default 100 */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

/** What `list()` takes: a filter, and where a page starts. */
export interface ListFilter<Type extends string = string> extends TaskFilter<Type> {
  /**
   * The id of the last task of the page before: the list goes on with the tasks listed
   * after it (older), wherever it is now. Keyset paging: a page costs the same at any depth,
   * and tasks submitted or removed meanwhile neither repeat nor skip rows (as `offset` may).
   * A task that is no longer stored is ERR_TASK_NOT_FOUND.
   */
  before?: string;
}

export interface TaskStats {
  total: number;
  queued: number;
  running: number;
  paused: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface CleanupOptions {
  /** Remove finished tasks that finished at least this long ago. */
  olderThanMs: number;
  /** Which finished statuses to remove. @default ['completed', 'failed', 'cancelled'] */
  statuses?: TaskStatus[];
}

interface EventBase<T extends string, Type extends string> {
  type: T;
  taskId: string;
  /** The task's type (its handler's export name): `ofTaskType('resize')` keeps one type's events. */
  taskType: Type;
  /** Epoch ms at which it happened. */
  at: number;
}

/**
 * What `health$` emits: whether the store does what the runtime asks (writes, and on a
 * shared queue claims and leases). While it is `failing`, writes are kept and tried again
 * with backoff (see docs/guides/what-survives-what.md); `ok` again once every part works.
 */
export type StoreHealth =
  | { status: 'ok'; since: number }
  | {
      status: 'failing';
      since: number;
      /** The first failure of the episode: ERR_STORE_FULL, ERR_STORE_IO, ERR_STORE_UNAVAILABLE, or what the store threw. */
      error: Error;
    };

/**
 * Everything `events$` emits, one union tagged by `type`. A typed runtime narrows `taskType`
 * to its task types and `result` to the union of their results (an event names its task by
 * id only, so which of them is not known).
 */
export type TaskEvent<Type extends string = string, Result = unknown> =
  | (EventBase<'created', Type> & { priority: Priority })
  | (EventBase<'started', Type> & { attempt: number })
  | (EventBase<'progress', Type> & { progress: number; message: string | null })
  | EventBase<'paused', Type>
  | EventBase<'resumed', Type>
  | (EventBase<'retrying', Type> & { attempt: number; error: TaskError; delayMs: number })
  | (EventBase<'completed', Type> & { result: Result })
  | (EventBase<'failed', Type> & { error: TaskError })
  | (EventBase<'cancelled', Type> & { error: TaskError });

export type TaskEventType = TaskEvent['type'];

/** Options of `TaskRuntime.open`. */
export interface RuntimeOptions {
  /** Module whose named exports, made with `defineTask`, are the task types. */
  handlers: URL | string;
  /**
   * Where tasks are kept: a SQLite file (this host owns it), or a `postgres://` (or
   * `postgresql://`) URL: a queue on PostgreSQL that several hosts share, each claiming the
   * ready tasks of the types its handlers module exports. @default ':memory:'
   */
  database?: string;
  /**
   * On a SQLite file: the mode of the files the runtime creates (the database, its -wal and
   * -shm, the lock and owner files). Payloads and results may hold secrets, so by default
   * only the owner can read them. Files that exist keep their mode. @default 0o600
   */
  fileMode?: number;
  /** On PostgreSQL: the queue's name, so several apps or queues share one database. @default 'default' */
  queue?: string;
  /**
   * On PostgreSQL: how long a claimed task stays this host's without a renewal (the host
   * renews every third of it while it holds the task). If the host dies or loses the
   * server, other hosts take the task again once this has passed. @default 30000
   */
  leaseMs?: number;
  /**
   * How many tasks run at once; also the number of worker threads. On PostgreSQL, 0 opens a
   * producer-only host: it submits, observes and controls tasks but runs none. @default 4
   */
  concurrency?: number;
  /** At most one `progress` event per task per this many ms. @default 50 */
  progressIntervalMs?: number;
  /** How long a cancelled task may run on before its thread is terminated. @default 1000 */
  cancelGraceMs?: number;
  /** Memory caps for each worker thread. @default undefined (Node's defaults) */
  resourceLimits?: ResourceLimits;
  /**
   * How far below the host's main thread the worker threads run in the operating system's
   * scheduler: the nice value added to each worker thread, 0 (same priority) to 19. When the
   * cores are busy, the main thread then gets the CPU first and stays responsive; when they
   * are not, it changes nothing. It also yields to other processes at normal priority, as
   * background work should. Linux only (elsewhere accepted and ignored: macOS and the BSDs
   * apply nice to the whole process, host included). Applied by Piscina's `niceIncrement`
   * through its optional `@napi-rs/nice` module; where that cannot load, the threads run at
   * normal priority. @default 10
   */
  niceIncrement?: number;
  /**
   * Aging: a task that has waited this long in the queue is treated one priority level
   * higher (and again after each further period, up to 'high'), so a steady flood of
   * high-priority work cannot starve lower-priority tasks forever. @default undefined (no aging)
   */
  agingMs?: number;
  /**
   * Limits per group (SubmitOptions.group): `{ default?: { concurrency?, rate? }, [group]: {...} }`.
   * `default` applies to each group without limits of its own (each group separately, not
   * together); tasks without a group have none. Change them later with `setGroupLimits`.
   * On a shared queue (PostgreSQL) they hold for the whole queue, across hosts: this host
   * writes them to the queue when it opens (the last write of a group's limits wins).
   * @default {} (no limits)
   */
  groups?: Record<string, GroupLimits>;
  /** Replace a worker thread after it has run this many tasks (for handlers that leak). @default undefined (never) */
  maxTasksPerThread?: number;
  /**
   * The largest payload and result a task may have, in bytes of their stored encoding (v8
   * serialization). A larger payload is rejected by submit with ERR_PAYLOAD_TOO_LARGE; a
   * larger result fails its task with that code. A type's own limit wins. @default 16 MiB
   */
  maxPayloadBytes?: number;
  /**
   * How long (ms) finished tasks are kept, per status; older ones are removed in the
   * background, a few hundred rows at a time. @default {} (kept until cleanup())
   */
  retention?: { completed?: number; failed?: number; cancelled?: number };
  /** How often `metrics$` emits. @default 1000 */
  metricsIntervalMs?: number;
  /** Default `timeoutMs` of every task. @default undefined (no timeout) */
  timeoutMs?: number;
  /**
   * `'normal'`: WAL with synchronous=NORMAL, survives a crash of the process; a power loss
   * may drop the last commits. `'full'`: also survives a power loss, at an fsync per commit.
   * @default 'normal'
   */
  durability?: 'normal' | 'full';
  /**
   * The default of every submit's `durable` (a type's `defineTask` option and a submit's
   * own win): `false` keeps tasks in memory only, never written to the store. @default true
   */
  durable?: boolean;
  /** Functions handlers may call as `await ctx.host.name(...args)`. @default {} */
  services?: Record<string, (...args: any[]) => unknown>;
  /**
   * OpenTelemetry spans: when `@opentelemetry/api` is installed and a tracer provider is
   * registered, each run of a task is a span `offthread.task <type>`, a child of the span
   * active at `submit()`, and handlers run inside it. `false` turns them off; without the
   * API, or while no provider is registered, nothing is traced either way. @default true
   */
  tracing?: boolean;
}

export interface CloseOptions {
  /** Let running tasks finish (true) or interrupt them to be re-queued on the next open. @default true */
  graceful?: boolean;
  /** With `graceful`, interrupt what is still running after this many ms. @default undefined (wait) */
  timeoutMs?: number;
}
