/**
 * Option checking and defaults. The caller's objects are never mutated; every problem is
 * an InvalidOptionError that names the option, the value and what would be right.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from './errors.js';
import { PRIORITIES, TASK_STATUSES, type Backoff, type Priority, type RuntimeOptions, type SubmitOptions, type TaskFilter, type TaskStatus } from './types.js';

export interface ResolvedRuntimeOptions {
  /** The handlers module as a file: (or other) URL the worker threads can import. */
  handlers: string;
  database: string;
  concurrency: number;
  progressIntervalMs: number;
  cancelGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  niceIncrement: number;
  services: Record<string, (...args: any[]) => unknown>;
  timeoutMs: number | null;
  durability: 'normal' | 'full';
  metricsIntervalMs: number;
  agingMs: number | null;
  maxTasksPerThread: number | null;
  retention: { completed?: number; failed?: number; cancelled?: number };
}

export const RUNTIME_DEFAULTS = {
  database: ':memory:',
  concurrency: 4,
  progressIntervalMs: 50,
  cancelGraceMs: 1000,
  niceIncrement: 10,
} as const;

const RUNTIME_KEYS = [
  'handlers',
  'database',
  'concurrency',
  'progressIntervalMs',
  'cancelGraceMs',
  'resourceLimits',
  'niceIncrement',
  'services',
  'timeoutMs',
  'durability',
  'metricsIntervalMs',
  'agingMs',
  'maxTasksPerThread',
  'retention',
];
const SUBMIT_KEYS = ['name', 'description', 'priority', 'timeoutMs', 'retries', 'backoff', 'runAt', 'key', 'dependsOn', 'onParentFailure'];
const BACKOFF_KEYS = ['type', 'delayMs', 'maxDelayMs', 'jitter'];
const RESOURCE_LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}

function rejectUnknownKeys(options: object, known: string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(key, `${where} has no option "${key}". Known options: ${known.join(', ')}.`);
    }
  }
}

function number(name: string, value: unknown, { min, integer }: { min: number; integer?: boolean }): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new InvalidOptionError(name, `expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${describe(value)}.`);
  }
  return value as number;
}

function optionalString(name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidOptionError(name, `expected a string, got ${describe(value)}.`);
  return value;
}

export function checkPriority(value: unknown, name = 'priority'): Priority {
  if (!PRIORITIES.includes(value as Priority)) {
    throw new InvalidOptionError(name, `expected one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}, got ${describe(value)}.`);
  }
  return value as Priority;
}

function handlersUrl(value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError('handlers', `expected a module URL or a file path, got ${describe(value)}.`);
  }
  if (/^(file|data|node):/.test(value)) return value;
  return pathToFileURL(isAbsolute(value) ? value : resolve(value)).href;
}

export function resolveRuntimeOptions(options: RuntimeOptions): ResolvedRuntimeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `TaskRuntime.open expects an options object with "handlers", got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, RUNTIME_KEYS, 'TaskRuntime.open');
  const database = options.database ?? RUNTIME_DEFAULTS.database;
  if (typeof database !== 'string' || database.length === 0) {
    throw new InvalidOptionError('database', `expected a file path or ':memory:', got ${describe(database)}.`);
  }
  const services = options.services ?? {};
  if (typeof services !== 'object' || services === null) {
    throw new InvalidOptionError('services', `expected an object of functions, got ${describe(services)}.`);
  }
  for (const [name, fn] of Object.entries(services)) {
    if (typeof fn !== 'function') throw new InvalidOptionError(`services.${name}`, `expected a function, got ${describe(fn)}.`);
  }
  const limits = options.resourceLimits;
  if (limits !== undefined) {
    if (typeof limits !== 'object' || limits === null) {
      throw new InvalidOptionError('resourceLimits', `expected an object, got ${describe(limits)}.`);
    }
    rejectUnknownKeys(limits, RESOURCE_LIMIT_KEYS, 'resourceLimits');
    for (const [key, value] of Object.entries(limits)) number(`resourceLimits.${key}`, value, { min: 1 });
  }
  const durability = options.durability ?? 'normal';
  if (durability !== 'normal' && durability !== 'full') {
    throw new InvalidOptionError('durability', `expected 'normal' or 'full', got ${describe(durability)}.`);
  }
  return {
    handlers: handlersUrl(options.handlers),
    timeoutMs: options.timeoutMs === undefined ? null : positive('timeoutMs', options.timeoutMs),
    durability,
    metricsIntervalMs: options.metricsIntervalMs === undefined ? 1000 : positive('metricsIntervalMs', options.metricsIntervalMs),
    agingMs: options.agingMs === undefined ? null : positive('agingMs', options.agingMs),
    maxTasksPerThread:
      options.maxTasksPerThread === undefined ? null : number('maxTasksPerThread', options.maxTasksPerThread, { min: 1, integer: true }),
    retention: checkRetention(options.retention),
    database,
    concurrency: number('concurrency', options.concurrency ?? RUNTIME_DEFAULTS.concurrency, { min: 1, integer: true }),
    progressIntervalMs: number('progressIntervalMs', options.progressIntervalMs ?? RUNTIME_DEFAULTS.progressIntervalMs, { min: 0 }),
    cancelGraceMs: number('cancelGraceMs', options.cancelGraceMs ?? RUNTIME_DEFAULTS.cancelGraceMs, { min: 0 }),
    resourceLimits: limits === undefined ? undefined : { ...limits },
    niceIncrement: niceIncrement(options.niceIncrement ?? RUNTIME_DEFAULTS.niceIncrement),
    services: { ...services },
  };
}

/** 19 is the lowest priority a Unix thread can have; larger increments would be clamped to it. */
function niceIncrement(value: unknown): number {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 19;
  if (!ok) {
    throw new InvalidOptionError('niceIncrement', `expected an integer from 0 (worker threads at the main thread's priority) to 19 (lowest), got ${describe(value)}.`);
  }
  return value as number;
}

/** A number of ms > 0 (a timeout of 0 would fail every task). */
function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(name, `expected a number of ms > 0, got ${describe(value)}.`);
  }
  return value;
}

export function checkBackoff(value: unknown): Backoff {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('backoff', `expected { type: 'fixed' | 'exponential', delayMs, maxDelayMs?, jitter? }, got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, BACKOFF_KEYS, 'backoff');
  const { type, delayMs, maxDelayMs, jitter } = value as Backoff;
  if (type !== 'fixed' && type !== 'exponential') {
    throw new InvalidOptionError('backoff.type', `expected 'fixed' or 'exponential', got ${describe(type)}.`);
  }
  const backoff: Backoff = { type, delayMs: number('backoff.delayMs', delayMs, { min: 0 }) };
  if (maxDelayMs !== undefined) backoff.maxDelayMs = number('backoff.maxDelayMs', maxDelayMs, { min: 0 });
  if (jitter !== undefined) {
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
      throw new InvalidOptionError('backoff.jitter', `expected a number from 0 to 1, got ${describe(jitter)}.`);
    }
    backoff.jitter = jitter;
  }
  return backoff;
}

export interface ResolvedSubmitOptions {
  name: string | null;
  description: string | null;
  priority: Priority;
  limits: { timeoutMs: number | null; retries: number; backoff: Backoff | null };
  relations: { key: string | null; dependsOn: string[]; onParentFailure: 'cancel' | 'run' };
  runAt: number | null;
}

function checkRunAt(value: unknown): number | null {
  if (value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidOptionError('runAt', `expected a Date or epoch milliseconds, got ${describe(value)}.`);
  }
  return ms;
}

function checkDependsOn(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string' || id.length === 0)) {
    throw new InvalidOptionError('dependsOn', `expected an array of task ids (strings), got ${describe(value)}.`);
  }
  return [...new Set(value as string[])];
}

/** What a submit gets when it does not say: its type's defineTask options, then the runtime's. */
export interface SubmitDefaults {
  priority: Priority;
  timeoutMs: number | null;
  retries: number;
  backoff: Backoff | null;
}

/** No key, no parents, the default failure rule: what most tasks have, new or restored. */
export const PLAIN_RELATIONS: ResolvedSubmitOptions['relations'] = Object.freeze({
  key: null,
  dependsOn: Object.freeze([]) as unknown as string[],
  onParentFailure: 'cancel' as const,
});

/**
 * The options of a submit that passes none, made once per task type: every such task shares
 * them (nothing changes a task's limits or relations in place), so a burst of 100k submits
 * makes no option objects at all.
 */
export function defaultSubmitOptions(defaults: SubmitDefaults): Readonly<ResolvedSubmitOptions> {
  return Object.freeze({
    name: null,
    description: null,
    priority: defaults.priority,
    limits: Object.freeze({ timeoutMs: defaults.timeoutMs, retries: defaults.retries, backoff: defaults.backoff }),
    relations: PLAIN_RELATIONS,
    runAt: null,
  });
}


/** `defaults` is the type's defaultSubmitOptions(), returned as it is when there are no options. */
export function resolveSubmitOptions(options: SubmitOptions | undefined, defaults: Readonly<ResolvedSubmitOptions>): Readonly<ResolvedSubmitOptions> {
  if (options === undefined) return defaults;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `submit expects an options object, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, SUBMIT_KEYS, 'submit');
  return {
    name: optionalString('name', options.name),
    description: optionalString('description', options.description),
    priority: options.priority === undefined ? defaults.priority : checkPriority(options.priority),
    // Options that only name, place or time a task (priority, runAt...) share the type's
    // limits and relations, as a submit without options does.
    limits:
      options.timeoutMs === undefined && options.retries === undefined && options.backoff === undefined
        ? defaults.limits
        : {
            timeoutMs: options.timeoutMs === undefined ? defaults.limits.timeoutMs : positive('timeoutMs', options.timeoutMs),
            retries: options.retries === undefined ? defaults.limits.retries : number('retries', options.retries, { min: 0, integer: true }),
            backoff: options.backoff === undefined ? defaults.limits.backoff : checkBackoff(options.backoff),
          },
    relations:
      options.key === undefined && options.dependsOn === undefined && options.onParentFailure === undefined
        ? defaults.relations
        : {
            key: options.key === undefined ? null : nonEmptyString('key', options.key),
            dependsOn: checkDependsOn(options.dependsOn),
            onParentFailure: checkOnParentFailure(options.onParentFailure),
          },
    runAt: checkRunAt(options.runAt),
  };
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(name, `expected a non-empty string, got ${describe(value)}.`);
  }
  return value;
}

function checkOnParentFailure(value: unknown): 'cancel' | 'run' {
  if (value === undefined) return 'cancel';
  if (value !== 'cancel' && value !== 'run') {
    throw new InvalidOptionError('onParentFailure', `expected 'cancel' or 'run', got ${describe(value)}.`);
  }
  return value;
}

const FILTER_KEYS = ['status', 'priority', 'type', 'limit', 'offset'];

function oneOrMany<T>(name: string, value: unknown, check: (v: unknown) => boolean, expected: string): T | T[] | undefined {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (!check(v)) throw new InvalidOptionError(name, `expected ${expected} (or an array of them), got ${describe(v)}.`);
  }
  return Array.isArray(value) ? [...value] : (value as T);
}

/** Checks a `list` filter; the store gets a copy it may trust. */
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
  if (filter.limit !== undefined) resolved.limit = number('limit', filter.limit, { min: 0, integer: true });
  if (filter.offset !== undefined) resolved.offset = number('offset', filter.offset, { min: 0, integer: true });
  return resolved;
}

function checkRetention(value: unknown): { completed?: number; failed?: number; cancelled?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('retention', `expected { completed?, failed?, cancelled? } in ms, got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, ['completed', 'failed', 'cancelled'], 'retention');
  const retention: Record<string, number> = {};
  for (const [status, ms] of Object.entries(value)) {
    if (ms !== undefined) retention[status] = number(`retention.${status}`, ms, { min: 0 });
  }
  return retention;
}
