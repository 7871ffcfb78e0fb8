/** Operators for `events$`. */
import { filter, type OperatorFunction } from 'rxjs';
import type { TaskEvent } from '../types.js';

/**
 * Keeps the events of the given types, narrowed to them:
 * `events$.pipe(ofType('progress'))` is typed with `progress` and `message`. `Event` is
 * inferred from the stream it is piped into, so on a typed runtime
 * `ofType('completed')` keeps the results typed (as the union of the module's results,
 * or one type's result after `ofTaskType`).
 */
export function ofType<T extends TaskEvent['type'], Event extends TaskEvent<string, unknown> = TaskEvent>(
  ...types: T[]
): OperatorFunction<Event, Extract<Event, { type: T }>> {
  const wanted: ReadonlySet<TaskEvent['type']> = new Set(types);
  return filter((event): event is Extract<Event, { type: T }> => wanted.has(event.type));
}

/**
 * The events of the given task types (handler export names), narrowed to them on a typed
 * runtime: `events$.pipe(ofTaskType('resize'), ofType('completed'))` has resize's result.
 * It is not an overload of `ofType`: a task type may share a name with an event type.
 */
export function ofTaskType<Event extends TaskEvent<string, unknown> = TaskEvent, T extends Event['taskType'] = Event['taskType']>(
  ...taskTypes: T[]
): OperatorFunction<Event, EventOfTaskType<Event, T>> {
  const wanted: ReadonlySet<string> = new Set(taskTypes);
  return filter((event): event is EventOfTaskType<Event, T> => wanted.has(event.taskType));
}

/** The members of `Event` whose task type is `T`; an untyped event (`taskType: string`) stays as it is. */
export type EventOfTaskType<Event, T extends string> = Event extends { taskType: infer K } ? (string extends K ? Event : K extends T ? Event : never) : never;
