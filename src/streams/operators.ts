/** Operators for `events$`. */
import { filter, type OperatorFunction } from 'rxjs';
import type { TaskEvent } from '../types.js';

/**
 * Keeps the events of the given types, narrowed to them:
 * `events$.pipe(ofType('progress'))` is typed with `progress` and `message`. `Event` is
 * inferred from the stream it is piped into, so on a typed runtime
 * `ofType('completed')` keeps the results typed (as the union of the module's results:
 * an event names its task by id, not by type).
 */
export function ofType<T extends TaskEvent['type'], Event extends TaskEvent<string, unknown> = TaskEvent>(
  ...types: T[]
): OperatorFunction<Event, Extract<Event, { type: T }>> {
  const wanted: ReadonlySet<TaskEvent['type']> = new Set(types);
  return filter((event): event is Extract<Event, { type: T }> => wanted.has(event.type));
}
