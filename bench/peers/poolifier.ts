/** Poolifier's FixedThreadPool, with its defaults (no pool-side task queue), as a benchmark peer. */
import { fileURLToPath } from 'node:url';
import { FixedThreadPool } from 'poolifier';
import type { Contender } from '../lib/contender.js';
import type { Work } from '../lib/work.js';

export function poolifier(): Contender {
  let pool: FixedThreadPool<Work, number>;
  return {
    name: 'poolifier',
    async setup(threads) {
      // Poolifier takes a file path, not a URL.
      pool = new FixedThreadPool(threads, fileURLToPath(new URL('../workers/poolifier-worker.js', import.meta.url)));
      await Promise.all(Array.from({ length: threads * 4 }, () => pool.execute('noop')));
    },
    async runMany(count, work) {
      const runs = new Array(count);
      for (let i = 0; i < count; i++) runs[i] = pool.execute(work);
      await Promise.all(runs);
    },
    async runOne(work) {
      await pool.execute(work);
    },
    teardown: () => pool.destroy(),
  };
}
