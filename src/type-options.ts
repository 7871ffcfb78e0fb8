/**
 * defineTask's per-type options, checked where the handlers module is loaded (a mistake
 * fails the load, with ERR_HANDLERS_LOAD naming the option), and merged under a submit's
 * own options on the host.
 */
import { InvalidOptionError } from './errors.js';
import { checkBackoff } from './options.js';
import type { TaskTypeOptions } from './worker.js';

const KEYS = ['concurrency', 'timeoutMs', 'retries', 'backoff', 'priority', 'maxTasksPerThread'];

export function checkTypeOptions(options: TaskTypeOptions): TaskTypeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `defineTask expects an options object as its second argument, got ${typeof options}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw new InvalidOptionError(key, `defineTask has no option "${key}". Known options: ${KEYS.join(', ')}.`);
  }
  const { concurrency, timeoutMs, retries, priority, maxTasksPerThread } = options;
  if (maxTasksPerThread !== undefined && !(Number.isInteger(maxTasksPerThread) && maxTasksPerThread >= 1)) {
    throw new InvalidOptionError('maxTasksPerThread', `expected an integer >= 1, got ${String(maxTasksPerThread)}.`);
  }
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidOptionError('concurrency', `expected an integer >= 1, got ${String(concurrency)}.`);
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new InvalidOptionError('timeoutMs', `expected a number of ms > 0, got ${String(timeoutMs)}.`);
  }
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    throw new InvalidOptionError('retries', `expected an integer >= 0, got ${String(retries)}.`);
  }
  if (priority !== undefined && !['low', 'normal', 'high'].includes(priority)) {
    throw new InvalidOptionError('priority', `expected 'low', 'normal' or 'high', got ${String(priority)}.`);
  }
  // A copy, so the caller's object cannot change the type's options later.
  const checked = { ...options };
  if (options.backoff !== undefined) checked.backoff = checkBackoff(options.backoff);
  return checked;
}
