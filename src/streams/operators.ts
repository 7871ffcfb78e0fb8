/** Operators for `events$`. */
import { filter, type OperatorFunction } from 'rxjs';
import type { TaskEvent } from '../types.js';

/**
 * Keeps the events of the given types, narrowed to them:
 * `events$.pipe(ofType('progress'))` is typed with `progress` and `message`.
 */
export function ofType<T extends TaskEvent['type']>(
  ...types: T[]
): OperatorFunction<TaskEvent, Extract<TaskEvent, { type: T }>> {
  const wanted: ReadonlySet<TaskEvent['type']> = new Set(types);
  return filter((event): event is Extract<TaskEvent, { type: T }> => wanted.has(event.type));
}
