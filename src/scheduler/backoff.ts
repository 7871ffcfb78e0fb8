/** The wait before a retry, from the task's backoff and how many runs have failed. */
import type { Backoff } from '../types.js';

export function retryDelay(backoff: Backoff | null, failedRuns: number, random: () => number = Math.random): number {
  if (backoff === null) return 0;
  let delay = backoff.type === 'exponential' ? backoff.delayMs * 2 ** (failedRuns - 1) : backoff.delayMs;
  if (backoff.maxDelayMs !== undefined) delay = Math.min(delay, backoff.maxDelayMs);
  if (backoff.jitter) delay *= 1 - backoff.jitter * random();
  return Math.round(delay);
}
