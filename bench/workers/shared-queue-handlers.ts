// Handlers of the benchmarks on a shared queue (PostgreSQL): the same work as every other
// contender's, `timedWork`, which also says how long it ran, and `stamp`, which tells when
// and where its handler began.
import { threadId } from 'node:worker_threads';
import { defineTask } from 'offthread/worker';
import { doWork, type Work } from '../lib/work.js';
export { noop, work } from '../handlers.js';

/**
 * The same work, returning its run time in ms (wall clock on its thread): against the time
 * the work takes alone, it shows how much of a core the thread got while others ran.
 */
export const timedWork = defineTask((kind: Work) => {
  const start = performance.now();
  doWork(kind);
  return performance.now() - start;
});

/**
 * Returns the wall-clock time (ms, sub-millisecond) its handler began and the process that ran
 * it. performance.timeOrigin + now() reads the machine's clock as Date.now() does, finer: the
 * producer's submit time, read the same way in another process, compares with it.
 */
export const stamp = defineTask(() => ({ at: performance.timeOrigin + performance.now(), pid: process.pid, threadId }));
