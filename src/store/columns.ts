/**
 * How a task's fields are held in a store's columns, for every store: the priority as its
 * rank (so ORDER BY priority sorts by urgency), payloads, results and checkpoints as v8
 * bytes, errors as JSON (./codec.ts).
 */
import { InvalidOptionError } from '../errors.js';
import { PRIORITIES, type Priority, type TaskError, type TaskStats, type TaskStatus } from '../types.js';
import { encodeColumn, encodeError } from './codec.js';
import type { TaskPatch } from './task-store.js';

const RANKS = new Map<unknown, number>(PRIORITIES.map((p, i) => [p, i]));

/** The rank of a priority: 0 low .. 2 high. */
export function rank(priority: Priority): number {
  const r = RANKS.get(priority);
  if (r === undefined) {
    throw new InvalidOptionError('priority', `expected one of ${PRIORITIES.join(', ')}, got ${String(priority)}`);
  }
  return r;
}

/** A patch field's value as its column holds it (a row's early changes are encoded alike). */
export function patchColumnValue(key: keyof TaskPatch, value: unknown): unknown {
  switch (key) {
    case 'priority':
      return rank(value as Priority);
    case 'result':
    case 'checkpoint':
      return encodeColumn(value, 'result');
    case 'payload':
      return encodeColumn(value, 'payload');
    case 'error':
      return encodeError(value as TaskError | null | undefined);
    default:
      return value;
  }
}

/** TaskStats from a count per status (a GROUP BY status). */
export function statsOf(counts: Iterable<{ status: string; n: number }>): TaskStats {
  const stats: TaskStats = { total: 0, queued: 0, running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const { status, n } of counts) {
    stats.total += n;
    if (Object.hasOwn(stats, status) && status !== 'total') stats[status as TaskStatus] = n;
  }
  return stats;
}
