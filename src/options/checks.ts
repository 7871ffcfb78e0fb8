/**
 * The checks options go through, wherever they are given. TaskRuntime.open, submit and
 * defineTask call the same function for an option of the same name (priority, timeoutMs,
 * retries, backoff, concurrency, maxTasksPerThread,
 * maxPayloadBytes), so a mistake reads the same everywhere.
 * Every problem is an InvalidOptionError that names the option, the value given with its
 * type, and what would be right. Nothing here changes the value it checks.
 *
 * Imported by the handlers module's side (defineTask) as well as the host's: it depends
 * on nothing but the errors and the types.
 */
import { InvalidOptionError } from '../errors.js';
import { PRIORITIES, type Backoff, type Priority } from '../types.js';

/** A value as a message shows it: `"2" (string)`, `2.5 (number)`, `null`, `an array`. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}

/** `where` is who takes the options, as the message names it ("submit", "defineTask"...). */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(key, `${where} has no option "${key}". Known options: ${known.join(', ')}.`);
    }
  }
}

/** A finite number >= min; with `integer`, a whole one. */
export function checkNumber(name: string, value: unknown, { min, integer }: { min: number; integer?: boolean }): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new InvalidOptionError(name, `expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${describe(value)}.`);
  }
  return value as number;
}

/** A finite number of ms > 0 (a timeout of 0 would fail every task). */
export function checkPositiveMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(name, `expected a number of ms > 0, got ${describe(value)}.`);
  }
  return value;
}

/** One of a closed set of values (strings, as the options that take one are). */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new InvalidOptionError(name, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}.`);
  }
  return value as T;
}

/** undefined and null are "none" (null); anything else must be a string. */
export function optionalString(name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidOptionError(name, `expected a string, got ${describe(value)}.`);
  return value;
}

export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(name, `expected a non-empty string, got ${describe(value)}.`);
  }
  return value;
}

// The options given in more than one place: one check each.

export function checkPriority(value: unknown): Priority {
  return checkOneOf('priority', value, PRIORITIES);
}

export function checkTimeoutMs(value: unknown): number {
  return checkPositiveMs('timeoutMs', value);
}

export function checkRetries(value: unknown): number {
  return checkNumber('retries', value, { min: 0, integer: true });
}

/** A runtime's number of threads, or a type's cap on its tasks running at once. */
export function checkConcurrency(value: unknown): number {
  return checkNumber('concurrency', value, { min: 1, integer: true });
}

/** Whether tasks are written to the store (submit, defineTask and the runtime's default). */
export function checkDurable(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError('durable', `expected true or false, got ${describe(value)}.`);
  return value;
}

export function checkMaxTasksPerThread(value: unknown): number {
  return checkNumber('maxTasksPerThread', value, { min: 1, integer: true });
}

/** The largest encoded payload or result, in bytes. */
export function checkMaxPayloadBytes(value: unknown): number {
  return checkNumber('maxPayloadBytes', value, { min: 1, integer: true });
}

const BACKOFF_KEYS = ['type', 'delayMs', 'maxDelayMs', 'jitter'];
const BACKOFF_TYPES: readonly Backoff['type'][] = ['fixed', 'exponential'];

/** A copy of a valid backoff, with only the keys that were given. */
export function checkBackoff(value: unknown): Backoff {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('backoff', `expected { type: 'fixed' | 'exponential', delayMs, maxDelayMs?, jitter? }, got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, BACKOFF_KEYS, 'backoff');
  const { type, delayMs, maxDelayMs, jitter } = value as Backoff;
  const backoff: Backoff = {
    type: checkOneOf('backoff.type', type, BACKOFF_TYPES),
    delayMs: checkNumber('backoff.delayMs', delayMs, { min: 0 }),
  };
  if (maxDelayMs !== undefined) backoff.maxDelayMs = checkNumber('backoff.maxDelayMs', maxDelayMs, { min: 0 });
  if (jitter !== undefined) {
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
      throw new InvalidOptionError('backoff.jitter', `expected a number from 0 to 1, got ${describe(jitter)}.`);
    }
    backoff.jitter = jitter;
  }
  return backoff;
}
