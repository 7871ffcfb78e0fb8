/** The filter of `list`: checked, and copied so the store may trust it. */
import { InvalidOptionError } from '../errors.js';
import { PRIORITIES, TASK_STATUSES, type ListFilter, type Priority, type TaskFilter, type TaskStatus } from '../types.js';
import { checkNumber, describe, rejectUnknownKeys } from './checks.js';

const FILTER_KEYS = ['status', 'priority', 'type', 'limit', 'offset'];

function oneOrMany<T>(name: string, value: unknown, check: (v: unknown) => boolean, expected: string): T | T[] | undefined {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (!check(v)) throw new InvalidOptionError(name, `expected ${expected} (or an array of them), got ${describe(v)}.`);
  }
  return Array.isArray(value) ? [...value] : (value as T);
}

export function resolveFilter(filter: TaskFilter | undefined): TaskFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null) {
    throw new InvalidOptionError('filter', `expected an object like { status, priority, type, limit, offset }, got ${describe(filter)}.`);
  }
  rejectUnknownKeys(filter, FILTER_KEYS, 'the filter');
  const resolved: TaskFilter = {};
  const status = oneOrMany<TaskStatus>('status', filter.status, (v) => TASK_STATUSES.includes(v as TaskStatus), `one of ${TASK_STATUSES.join(', ')}`);
  const priority = oneOrMany<Priority>('priority', filter.priority, (v) => PRIORITIES.includes(v as Priority), `one of ${PRIORITIES.join(', ')}`);
  const type = oneOrMany<string>('type', filter.type, (v) => typeof v === 'string', 'a task type name');
  if (status !== undefined) resolved.status = status;
  if (priority !== undefined) resolved.priority = priority;
  if (type !== undefined) resolved.type = type;
  if (filter.limit !== undefined) resolved.limit = checkNumber('limit', filter.limit, { min: 0, integer: true });
  if (filter.offset !== undefined) resolved.offset = checkNumber('offset', filter.offset, { min: 0, integer: true });
  return resolved;
}

/** The filter of `list`: a TaskFilter, and `before` (keyset paging), which only a list takes. */
export function resolveListFilter(filter: ListFilter | undefined): ListFilter {
  if (filter === undefined || typeof filter !== 'object' || filter === null || !('before' in filter)) return resolveFilter(filter);
  const { before, ...rest } = filter;
  const resolved: ListFilter = resolveFilter(rest);
  if (before === undefined) return resolved;
  if (typeof before !== 'string' || before === '') {
    throw new InvalidOptionError('before', `expected the id of a task (the last of the page before), got ${describe(before)}.`);
  }
  resolved.before = before;
  return resolved;
}
