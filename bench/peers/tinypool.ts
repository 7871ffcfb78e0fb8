/** Tinypool (Piscina's slimmer fork, used by Vitest) as a benchmark peer. */
import { Tinypool } from 'tinypool';
import type { Contender } from '../lib/contender.js';

export function tinypool(): Contender {
  let pool: Tinypool;
  return {
    name: 'tinypool',
    async setup(threads) {
      pool = new Tinypool({
        filename: new URL('../workers/tinypool-worker.js', import.meta.url).href,
        minThreads: threads,
        maxThreads: threads,
        idleTimeout: Infinity,
      });
      // Warm up as raw Piscina does: threads started, the module loaded.
      await Promise.all(Array.from({ length: threads * 4 }, () => pool.run('noop')));
    },
    async runMany(count, work) {
      const runs = new Array(count);
      for (let i = 0; i < count; i++) runs[i] = pool.run(work);
      await Promise.all(runs);
    },
    async runOne(work) {
      await pool.run(work);
    },
    teardown: () => pool.destroy(),
  };
}
