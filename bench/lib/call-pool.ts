/**
 * A contender for a plain pool where one task is one call (raw Piscina, tinypool,
 * poolifier, workerpool): warmed up alike, all tasks submitted at once, awaited together.
 */
import type { Contender } from './contender.js';
import type { Work } from './work.js';

export interface CallPool {
  call(work: Work): PromiseLike<unknown>;
  close(): PromiseLike<unknown>;
}

export function callPoolContender(name: string, start: (threads: number) => CallPool): Contender {
  let pool: CallPool;
  return {
    name,
    async setup(threads) {
      pool = start(threads);
      // Warm up: threads started, the worker module loaded.
      await Promise.all(Array.from({ length: threads * 4 }, () => pool.call('noop')));
    },
    async runMany(count, work) {
      const runs = new Array<PromiseLike<unknown>>(count);
      for (let i = 0; i < count; i++) runs[i] = pool.call(work);
      await Promise.all(runs);
    },
    async runOne(work) {
      await pool.call(work);
    },
    async teardown() {
      await pool.close();
    },
  };
}
