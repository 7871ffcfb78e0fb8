/**
 * Limits on how many tasks start: a type's `rate` (defineTask) and a group's `concurrency`
 * and `rate` (`groups` at open, `setGroupLimits`), checked once, as every option is.
 */
import { InvalidOptionError } from '../errors.js';
import type { GroupLimits, RateLimit } from '../types.js';
import { checkNumber, describe, rejectUnknownKeys } from './checks.js';

const RATE_KEYS = ['count', 'perMs'];
const GROUP_KEYS = ['concurrency', 'rate'];

/** At most `count` starts in any window of `perMs`. */
export function checkRate(name: string, value: unknown): RateLimit {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(name, `expected { count, perMs } (at most count starts in any window of perMs), got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, RATE_KEYS, name);
  const { count, perMs } = value as RateLimit;
  return { count: checkNumber(`${name}.count`, count, { min: 1, integer: true }), perMs: checkNumber(`${name}.perMs`, perMs, { min: 1 }) };
}

export function checkGroupLimits(name: string, value: unknown): GroupLimits {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(name, `expected { concurrency?, rate? }, got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, GROUP_KEYS, name);
  const { concurrency, rate } = value as GroupLimits;
  const checked: GroupLimits = {};
  if (concurrency !== undefined) checked.concurrency = checkNumber(`${name}.concurrency`, concurrency, { min: 1, integer: true });
  if (rate !== undefined) checked.rate = checkRate(`${name}.rate`, rate);
  return checked;
}

/** The `groups` option: limits by group name, `default` for every group without its own. */
export function checkGroups(value: unknown): Record<string, GroupLimits> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('groups', `expected { default?: { concurrency?, rate? }, [group]: { concurrency?, rate? } }, got ${describe(value)}.`);
  }
  const checked: Record<string, GroupLimits> = {};
  for (const [group, limits] of Object.entries(value)) checked[group] = checkGroupLimits(`groups.${group}`, limits);
  return checked;
}
