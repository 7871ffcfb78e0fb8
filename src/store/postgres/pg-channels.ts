/**
 * The NOTIFY channels the hosts of a queue talk on, and what each carries. Every queue of
 * a database shares them: a message names its queue, and a host ignores the others'.
 *
 * - offthread_ready: the queue's name. Tasks may have become ready to claim.
 */
export const READY_CHANNEL = 'offthread_ready';

/** What the LISTEN connection listens on (./pg-feed.ts). */
export const CHANNELS = [READY_CHANNEL] as const;
