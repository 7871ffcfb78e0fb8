/**
 * Cron expressions, parsed by croner: 5 fields (minute precision), 6 (a leading seconds
 * field) or 7 (a trailing year), nicknames such as `@hourly`. Wall-clock times are read in
 * an IANA time zone when one is given, else in the host's local time zone.
 * Only this file knows croner, so the library can be swapped without touching the scheduler.
 */
import { Cron, CronPattern } from 'croner';
import { InvalidOptionError } from '../errors.js';

/** A parsed expression: when it next fires after a time. */
export interface CronExpression {
  /** The first firing strictly after `from` (epoch ms), or null when it never fires again. */
  nextAfter(from: number): number | null;
}

/**
 * Throws InvalidOptionError (ERR_INVALID_OPTION) saying what is wrong: option 'cron' for the
 * expression, 'timezone' for a zone that is not a string or that the host does not know.
 *
 * Across a daylight-saving change croner fires a time that does not exist that day (the
 * skipped hour in spring) once, at the first instant after the gap, and a time that happens
 * twice (the repeated hour in autumn) once, at its first occurrence.
 */
export function parseCron(expression: unknown, timezone?: unknown): CronExpression {
  if (timezone !== undefined) checkTimezone(timezone);
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new InvalidOptionError(
      'cron',
      `expected a cron expression such as "*/5 * * * * *" (every 5 seconds), got ${describe(expression)}`,
    );
  }
  let cron: Cron;
  try {
    // CronPattern first: `new Cron()` would read a string with a ':' as a one-off date
    // ("2030-01-01T00:00"), which is not a schedule.
    new CronPattern(expression);
    // No function is passed, so croner arms no timer of its own: it only computes times.
    cron = new Cron(expression, timezone === undefined ? {} : { timezone });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Cron\w*: /, '') : String(error);
    throw new InvalidOptionError('cron', `"${expression}" is not a valid cron expression: ${reason}`);
  }
  return { nextAfter: (from) => cron.nextRun(new Date(from))?.getTime() ?? null };
}

/** An IANA zone name the host's Intl knows (the same check croner relies on). */
function checkTimezone(timezone: unknown): asserts timezone is string {
  if (typeof timezone !== 'string' || timezone.trim() === '') {
    throw new InvalidOptionError(
      'timezone',
      `expected an IANA time zone name such as "Europe/Berlin", got ${describe(timezone)}`,
    );
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new InvalidOptionError('timezone', `"${timezone}" is not a time zone this host knows (an IANA name such as "Europe/Berlin")`);
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? 'an empty string' : `${String(value)} (${typeof value})`;
}
