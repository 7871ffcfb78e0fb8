/**
 * Types that flow from the handlers module to the host: `TaskRuntime.open<typeof tasks>`,
 * where `tasks` is the module's namespace (`import type * as tasks from './tasks.js'`),
 * checks every submit's type name and payload against the module's `defineTask` exports,
 * and types results, tasks and events from them. Types only: nothing here exists at run
 * time, and the runtime checks what it always checked (the type name, not the payload).
 *
 * A runtime opened without the type argument is `TaskRuntime<Untyped>`: any type name,
 * payloads and results `unknown`, as before these types existed.
 */
import type { ScheduleOptions } from './scheduler/cron.js';
import type { RuntimeOptions, SubmitOptions, Task, TaskEvent } from './types.js';
import type { DeclaredServices, PayloadOf, ResultOf, TaskDefinition } from './worker.js';

declare const UNTYPED: unique symbol;

/**
 * The task types of a runtime opened without a handlers module type. A branded interface
 * rather than `unknown` or `any`, so that no module namespace is mistaken for it.
 */
export interface Untyped {
  readonly [UNTYPED]: true;
}

/** Not distributive, and true for `any` too, so `TaskRuntime<any>` stays permissive. */
type IsUntyped<Tasks> = [Tasks] extends [Untyped] ? true : false;

/**
 * The task definitions of a handlers module's namespace type, by export name: the exports
 * made with `defineTask`; other exports (helpers, constants) are no task types and dropped.
 */
export type TaskMap<Tasks> = {
  [K in keyof Tasks as K extends string ? (Tasks[K] extends TaskDefinition<any, any> ? K : never) : never]: Tasks[K];
};

/** The task type names a runtime accepts: the module's `defineTask` export names, or any string when untyped. */
export type TaskType<Tasks> = IsUntyped<Tasks> extends true ? string : Extract<keyof TaskMap<Tasks>, string>;

/** The payload a task type's handler takes (`unknown` when untyped). */
export type TaskPayload<Tasks, Type extends string> =
  IsUntyped<Tasks> extends true ? unknown : Type extends keyof TaskMap<Tasks> ? PayloadOf<TaskMap<Tasks>[Type]> : never;

/** What a task type's handler returns, awaited (`unknown` when untyped). */
export type TaskResult<Tasks, Type extends string> =
  IsUntyped<Tasks> extends true ? unknown : Type extends keyof TaskMap<Tasks> ? ResultOf<TaskMap<Tasks>[Type]> : never;

/**
 * A task of any of the module's types, as `get`, `list` and `observe` give it: a union
 * discriminated by `type`, so `if (task.type === 'resize')` types its payload and result.
 * It trusts that the store holds tasks of the module's types, as a store this runtime
 * submits to does (a type that is not exported is refused at submit); a store that other
 * code, or an older version of the module, wrote to may hold others.
 */
export type AnyTask<Tasks> =
  IsUntyped<Tasks> extends true ? Task : { [K in TaskType<Tasks>]: Task<TaskPayload<Tasks, K>, TaskResult<Tasks, K>, K> }[TaskType<Tasks>];

/**
 * What `events$` emits on a runtime: a union over the module's task types, so an event
 * narrowed by `taskType` (`ofTaskType('resize')`, or an `if`) has that type's result.
 */
export type AnyTaskEvent<Tasks> =
  IsUntyped<Tasks> extends true ? TaskEvent : { [K in TaskType<Tasks>]: TaskEvent<K, TaskResult<Tasks, K>> }[TaskType<Tasks>];

/**
 * The arguments after the type name of `submit`: the payload may be left out when the
 * handler's payload type accepts `undefined` (a handler that takes none, or `any`).
 */
export type SubmitArgs<Tasks, Type extends string, Options = SubmitOptions> =
  undefined extends TaskPayload<Tasks, Type>
    ? [payload?: TaskPayload<Tasks, Type>, options?: Options]
    : [payload: TaskPayload<Tasks, Type>, options?: Options];

/** The arguments after the type name of `schedule`. */
export type ScheduleArgs<Tasks, Type extends string> = SubmitArgs<Tasks, Type, ScheduleOptions>;

type Flat<T> = { [K in keyof T]: T[K] };

/** One item of a typed `submitMany`: a union discriminated by `type`, each with its payload. */
export type SubmitItemOf<Tasks> = {
  [K in TaskType<Tasks>]: Flat<
    { type: K; options?: SubmitOptions } & (undefined extends TaskPayload<Tasks, K>
      ? { payload?: TaskPayload<Tasks, K> }
      : { payload: TaskPayload<Tasks, K> })
  >;
}[TaskType<Tasks>];

/**
 * The options of `TaskRuntime.open`: on a typed runtime, `services` must be what the
 * handlers were told `ctx.host` offers (`HostServices`, when the app declared it).
 */
export type OpenOptions<Tasks> =
  IsUntyped<Tasks> extends true ? RuntimeOptions : Omit<RuntimeOptions, 'services'> & { services?: DeclaredServices };

/** Legacy signatures (`submit<Result>(type: string, ...)`) apply to untyped runtimes only. */
export type UntypedOnly<Tasks, T> = IsUntyped<Tasks> extends true ? T : never;
