/**
 * A submit's options: checked, and laid over its type's defaults (defineTask's options,
 * then the runtime's). The caller's objects are never mutated.
 */
import { InvalidOptionError } from '../errors.js';
import type { Backoff, Priority, SubmitOptions } from '../types.js';
import {
  checkBackoff,
  checkDurable,
  checkNumber,
  checkOneOf,
  checkPriority,
  checkRetries,
  checkTimeoutMs,
  describe,
  nonEmptyString,
  optionalString,
  rejectUnknownKeys,
} from './checks.js';

const SUBMIT_KEYS = ['name', 'description', 'priority', 'timeoutMs', 'retries', 'backoff', 'runAt', 'key', 'dependsOn', 'onParentFailure', 'group', 'debounceMs', 'signal', 'durable'];
const PARENT_FAILURE_RULES: readonly ResolvedSubmitOptions['relations']['onParentFailure'][] = ['cancel', 'run'];

export interface ResolvedSubmitOptions {
  name: string | null;
  description: string | null;
  priority: Priority;
  limits: { timeoutMs: number | null; retries: number; backoff: Backoff | null };
  relations: { key: string | null; dependsOn: string[]; onParentFailure: 'cancel' | 'run'; group: string | null };
  runAt: number | null;
  /** With a key: start this long after the key's last submit (SubmitOptions.debounceMs), or null. */
  debounceMs: number | null;
  /** Written to the store (false: kept in memory only, see SubmitOptions.durable). */
  durable: boolean;
}

function checkDebounce(options: SubmitOptions): number | null {
  if (options.debounceMs === undefined) return null;
  const ms = checkNumber('debounceMs', options.debounceMs, { min: 0 });
  if (options.key === undefined) throw new InvalidOptionError('debounceMs', 'debounces the submits of one key: give the task a `key` too.');
  if (options.runAt !== undefined) throw new InvalidOptionError('debounceMs', 'sets when the task starts (debounceMs after the last submit of its key): give it without `runAt`.');
  return ms;
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
  /** @default true */
  durable?: boolean;
}

/** No key, no parents, the default failure rule: what most tasks have, new or restored. */
export const PLAIN_RELATIONS: ResolvedSubmitOptions['relations'] = Object.freeze({
  key: null,
  dependsOn: Object.freeze([]) as unknown as string[],
  onParentFailure: 'cancel' as const,
  group: null,
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
    debounceMs: null,
    durable: defaults.durable ?? true,
  });
}

/** `defaults` is the type's defaultSubmitOptions(), returned as it is when there are no options. */
export function resolveSubmitOptions(options: SubmitOptions | undefined, defaults: Readonly<ResolvedSubmitOptions>): Readonly<ResolvedSubmitOptions> {
  if (options === undefined) return defaults;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `submit expects an options object, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, SUBMIT_KEYS, 'submit');
  // Not stored: the runtime follows it while the task lives (see streams/abort-follow.ts).
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', `expected an AbortSignal, got ${describe(options.signal)}.`);
  }
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
            timeoutMs: options.timeoutMs === undefined ? defaults.limits.timeoutMs : checkTimeoutMs(options.timeoutMs),
            retries: options.retries === undefined ? defaults.limits.retries : checkRetries(options.retries),
            backoff: options.backoff === undefined ? defaults.limits.backoff : checkBackoff(options.backoff),
          },
    relations:
      options.key === undefined && options.dependsOn === undefined && options.onParentFailure === undefined && options.group === undefined
        ? defaults.relations
        : {
            key: options.key === undefined ? null : nonEmptyString('key', options.key),
            dependsOn: checkDependsOn(options.dependsOn),
            onParentFailure: options.onParentFailure === undefined ? 'cancel' : checkOneOf('onParentFailure', options.onParentFailure, PARENT_FAILURE_RULES),
            group: options.group === undefined ? null : nonEmptyString('group', options.group),
          },
    runAt: checkRunAt(options.runAt),
    debounceMs: checkDebounce(options),
    durable: options.durable === undefined ? defaults.durable : checkDurable(options.durable),
  };
}
