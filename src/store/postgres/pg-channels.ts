/**
 * The NOTIFY channels the hosts of a queue talk on, and what each carries. Every queue of
 * a database shares them: a message names its queue, and a host ignores the others'.
 *
 * - offthread_ready: the queue's name. Tasks may have become ready to claim.
 * - offthread_events: `{ q, h, e }`, what host `h` did to queue `q`'s tasks (./pg-events.ts).
 */
export const READY_CHANNEL = 'offthread_ready';
export const EVENTS_CHANNEL = 'offthread_events';

/** What the LISTEN connection listens on (./pg-feed.ts). */
export const CHANNELS = [READY_CHANNEL, EVENTS_CHANNEL] as const;

/** A payload's JSON object, or undefined when it is not one (a message this code does not know). */
export function parse(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
