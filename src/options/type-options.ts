/**
 * defineTask's per-type options, checked where the handlers module is loaded (a mistake
 * fails the load, with ERR_HANDLERS_LOAD naming the option), and merged under a submit's
 * own options on the host. The checks are the ones TaskRuntime.open and submit use.
 */
import { InvalidOptionError } from '../errors.js';
import type { TaskTypeOptions } from '../types.js';
import {
  checkBackoff,
  checkConcurrency,
  checkDurable,
  checkMaxPayloadBytes,
  checkMaxTasksPerThread,
  checkPriority,
  checkRetries,
  checkTimeoutMs,
  describe,
  rejectUnknownKeys,
} from './checks.js';
import { checkRate } from './limit-options.js';

const TYPE_KEYS = ['concurrency', 'rate', 'timeoutMs', 'retries', 'backoff', 'priority', 'maxTasksPerThread', 'maxPayloadBytes', 'durable'];

/** A checked copy, so the caller's object cannot change the type's options later. */
export function checkTypeOptions(options: TaskTypeOptions): TaskTypeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `defineTask expects an options object as its second argument, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, TYPE_KEYS, 'defineTask');
  const checked: TaskTypeOptions = {};
  const { concurrency, rate, timeoutMs, retries, backoff, priority, maxTasksPerThread, maxPayloadBytes, durable } = options;
  if (maxTasksPerThread !== undefined) checked.maxTasksPerThread = checkMaxTasksPerThread(maxTasksPerThread);
  if (maxPayloadBytes !== undefined) checked.maxPayloadBytes = checkMaxPayloadBytes(maxPayloadBytes);
  if (concurrency !== undefined) checked.concurrency = checkConcurrency(concurrency);
  if (rate !== undefined) checked.rate = checkRate('rate', rate);
  if (timeoutMs !== undefined) checked.timeoutMs = checkTimeoutMs(timeoutMs);
  if (retries !== undefined) checked.retries = checkRetries(retries);
  if (priority !== undefined) checked.priority = checkPriority(priority);
  if (backoff !== undefined) checked.backoff = checkBackoff(backoff);
  if (durable !== undefined) checked.durable = checkDurable(durable);
  return checked;
}
