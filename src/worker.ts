/**
 * offthread/worker: what a handlers module imports. Everything here runs inside a worker
 * thread; nothing in it touches the host's scheduler or store.
 */
import type { Remote } from 'comlink';
import { InvalidOptionError } from './errors.js';
import { checkTypeOptions } from './options/type-options.js';
import type { TaskTypeOptions } from './types.js';
import { BATCH, MAX_BATCH, type BatchDefinition } from './workers/batch-definition.js';

export type { TaskTypeOptions } from './types.js';

/**
 * The host's `services`, as handlers see them through `ctx.host`. Empty here; an app fills
 * it in once, by declaration merging, and every handler's `ctx.host` is typed from it:
 *
 *     // services.ts (imported by the host; its type by the handlers module)
 *     export const services = { lookup: async (key: string) => cache.get(key) };
 *     type AppServices = typeof services;
 *     declare module 'offthread/worker' {
 *       interface HostServices extends AppServices {}
 *     }
 *
 * A merged declaration, not a type parameter of `defineTask`: the services are given to
 * `TaskRuntime.open` on the host, which the handlers module never imports, so the only
 * place both sides can meet is a declaration they both see. One declaration types every
 * handler, and `TaskRuntime.open<typeof tasks>` then checks the `services` it is given
 * against it. A handler may still give its own with `ctx: TaskContext<OwnServices>`.
 */
export interface HostServices {}

/**
 * What `ctx.host` proxies when a handler does not say: `HostServices` once an app has
 * declared it, else any function by name (as before it existed).
 */
export type DeclaredServices = keyof HostServices extends never ? Record<string, (...args: any[]) => unknown> : HostServices;

/**
 * What a handler is given besides its payload. `Services`: what `ctx.host` proxies.
 * `Dependencies`: what the task's parents (`dependsOn`) return, as the handler expects it;
 * the runtime does not check it (a parent is named by id at submit, which carries no type),
 * so it is an assertion like a cast, best written `ResultOf<typeof parent>`.
 */
export interface TaskContext<Services = DeclaredServices, Dependencies = unknown> {
  /** The task's id, as `submit` returned it. */
  readonly id: string;
  /** 1 on the first run; higher when the task runs again after a crash of the host. */
  readonly attempt: number;
  /** Aborted when the task is cancelled. A handler that ignores it is terminated after `cancelGraceMs`. */
  readonly signal: AbortSignal;
  /**
   * Reports progress, 0-100, with an optional message. Cheap to call often: the worker and
   * the host both coalesce, so the host sees at most one update per `progressIntervalMs`.
   */
  progress(percent: number, message?: string): void;
  /**
   * A pause point. Returns at once unless the task was paused (then the thread sleeps here,
   * using no CPU, until it is resumed) or cancelled (then it throws an AbortError).
   * Call it between units of work: `await ctx.checkpoint()`.
   */
  checkpoint(): Promise<void>;
  /** The host's `services`, callable as `await ctx.host.name(...args)`. */
  readonly host: Remote<Services>;
  /** Results of the tasks it depends on (dependsOn), by id. */
  readonly dependencies: Readonly<Record<string, Dependencies>>;
  /** Parents that failed or were cancelled, by id (only with onParentFailure 'run'). */
  readonly failedDependencies: Readonly<Record<string, { code: string; message: string }>>;
  /**
   * The state the last run saved with `saveCheckpoint`, or undefined on a first run. A run
   * that follows a crash of the host, a retry or an interrupting close starts from here.
   */
  readonly checkpointState: unknown;
  /**
   * Keeps a small structured-cloneable state for this task in the store (written in
   * batches; the last one wins), handed to the next run as `ctx.checkpointState`.
   */
  saveCheckpoint(state: unknown): void;
  /**
   * Streams a partial result to the host, where `handle.output$` (and `rt.output$(id)`)
   * emits every value in order, structured-cloned. Values are not stored: `result()` stays
   * the durable outcome. Back-pressure: once 64 values wait for the host to hand them to a
   * reader, the promise waits for room, so `await ctx.emit(value)` in a loop never outruns
   * the host. Rejects with an AbortError if the task is cancelled while it waits, and with
   * ERR_NOT_CLONEABLE for a value that cannot be cloned.
   */
  emit(value: unknown): Promise<void>;
  /**
   * What `rt.send(id, message)` delivers to this run, in order, as an async iterable that
   * ends when the run does. Messages sent before the handler first reads it wait for it.
   */
  readonly messages: AsyncIterable<unknown>;
}

export type TaskHandler<Payload = any, Result = unknown, Services = DeclaredServices, Dependencies = unknown> = (
  payload: Payload,
  ctx: TaskContext<Services, Dependencies>,
) => Result | Promise<Result>;

const TASK_BRAND = Symbol.for('offthread.task');

/** A handler marked as a task type; its export name is the type's name. */
export interface TaskDefinition<Payload = any, Result = unknown> {
  readonly [TASK_BRAND]: true;
  readonly handler: TaskHandler<Payload, Result>;
  readonly options: TaskTypeOptions;
}

/**
 * Marks a function as a task handler. Export it from the handlers module under the name
 * that `submit` will use as the task type:
 *
 *     export const resize = defineTask(async (payload: { file: string }, ctx) => { ... });
 *
 * `Payload` and `Result` are inferred from the function (annotate the payload; the return
 * type follows), and a host that opens the module with `TaskRuntime.open<typeof tasks>`
 * checks its submits against them. `Services` and `Dependencies` come from an annotated
 * `ctx: TaskContext<Services, Dependencies>`, else from `HostServices` and `unknown`.
 */
export function defineTask<Payload = any, Result = unknown, Services = DeclaredServices, Dependencies = unknown>(
  handler: TaskHandler<Payload, Result, Services, Dependencies>,
  options: TaskTypeOptions = {},
): TaskDefinition<Payload, Result> {
  if (typeof handler !== 'function') {
    throw new InvalidOptionError('handler', `defineTask expects a function (payload, ctx) => result, got ${typeof handler}.`);
  }
  // The worker hands every handler the one context class; what the handler declared of
  // `ctx.host` and `ctx.dependencies` is its own view of it.
  return { [TASK_BRAND]: true, handler: handler as TaskHandler<Payload, Result>, options: checkTypeOptions(options) };
}

/** What a batch handler is given besides its payloads: one call serves several tasks. */
export interface BatchContext<Services = DeclaredServices> {
  /** The tasks of this call, in the order of the payloads. */
  readonly ids: readonly string[];
  /** Each task's attempt (1 on its first run), in the same order. */
  readonly attempts: readonly number[];
  /** Aborted once every task of the call has been cancelled. */
  readonly signal: AbortSignal;
  /** The host's `services`, as for `defineTask`'s `ctx.host`. */
  readonly host: Remote<Services>;
  /** Reports progress for every task of the call. */
  progress(percent: number, message?: string): void;
}

/** `(payloads, ctx) => results`: one result, or an Error (that task fails), per payload, in order. */
export type BatchHandler<Payload = any, Result = unknown, Services = DeclaredServices> = (
  payloads: Payload[],
  ctx: BatchContext<Services>,
) => Array<Result | Error> | Promise<Array<Result | Error>>;

/** How many tasks one call of a batch handler takes, and how long a call waits to fill. */
export interface BatchOptions extends TaskTypeOptions {
  /** At most this many tasks in one handler call (1 to 1000). @default 100 */
  maxBatch?: number;
  /** How long the first task of a batch waits for others to join it, in ms (>= 0). @default 0 (what is queued when a thread is free) */
  maxWaitMs?: number;
}


/**
 * Marks a function as a *batch* task handler: tasks stay individual (their own rows,
 * priorities, cancel, and result or error each), but one handler call takes up to
 * `maxBatch` of them, waiting at most `maxWaitMs` for a batch to fill: bulk inserts, model
 * inference, APIs with batch endpoints. The handler returns one result per payload, in
 * order; an `Error` in place of a result fails that task alone, a throw fails them all.
 *
 *     export const insertRows = defineBatchTask(async (rows: Row[]) => db.insertMany(rows), { maxBatch: 500, maxWaitMs: 20 });
 *
 * A task of a running batch that is cancelled, or runs out of time, ends so when the call
 * returns: its thread is not terminated, since the other tasks of the call would be lost.
 */
export function defineBatchTask<Payload = any, Result = unknown, Services = DeclaredServices>(
  handler: BatchHandler<Payload, Result, Services>,
  options: BatchOptions = {},
): TaskDefinition<Payload, Result> {
  if (typeof handler !== 'function') {
    throw new InvalidOptionError('handler', `defineBatchTask expects a function (payloads, ctx) => results, got ${typeof handler}.`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `defineBatchTask expects an options object as its second argument, got ${typeof options}.`);
  }
  const { maxBatch = 100, maxWaitMs = 0, ...typeOptions } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_BATCH) {
    throw new InvalidOptionError('maxBatch', `expected an integer from 1 to ${MAX_BATCH}, got ${String(maxBatch)}.`);
  }
  if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0) || !Number.isFinite(maxWaitMs)) {
    throw new InvalidOptionError('maxWaitMs', `expected a number of ms >= 0, got ${String(maxWaitMs)}.`);
  }
  const batch: BatchDefinition = { handler: handler as BatchHandler, maxBatch, maxWaitMs };
  const single: TaskHandler<Payload, Result> = () => {
    throw new Error('A batch handler runs through its batch call (defineBatchTask).');
  };
  return Object.assign({ [TASK_BRAND]: true as const, handler: single, options: checkTypeOptions(typeOptions) }, { [BATCH]: batch });
}

/** True for values made by defineTask, even by another copy of this module. */
export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/** Payload type of a task definition, for typed submits on the host. */
export type PayloadOf<T> = T extends TaskDefinition<infer P, any> ? P : never;
/** Result type of a task definition. */
export type ResultOf<T> = T extends TaskDefinition<any, infer R> ? Awaited<R> : never;
