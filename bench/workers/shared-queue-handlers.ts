// Handlers of the benchmarks on a shared queue (PostgreSQL): the same work as every other
// contender's, and `stamp`, which tells when and where its handler began.
import { threadId } from 'node:worker_threads';
import { defineTask } from 'offthread/worker';
export { noop, work } from '../handlers.js';

/**
 * Returns the wall-clock time (ms, sub-millisecond) its handler began and the process that ran
 * it. performance.timeOrigin + now() reads the machine's clock as Date.now() does, finer: the
 * producer's submit time, read the same way in another process, compares with it.
 */
export const stamp = defineTask(() => ({ at: performance.timeOrigin + performance.now(), pid: process.pid, threadId }));
