/** workerpool with worker_threads (not child processes) as a benchmark peer. */
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import type { Contender } from '../lib/contender.js';
import type { Work } from '../lib/work.js';

export function workerpoolPeer(): Contender {
  let pool: workerpool.Pool;
  const exec = (work: Work) => pool.exec('doWork', [work]);
  return {
    name: 'workerpool',
    async setup(threads) {
      pool = workerpool.pool(fileURLToPath(new URL('../workers/workerpool-worker.js', import.meta.url)), {
        minWorkers: threads,
        maxWorkers: threads,
        workerType: 'thread',
      });
      await Promise.all(Array.from({ length: threads * 4 }, () => exec('noop')));
    },
    async runMany(count, work) {
      const runs = new Array(count);
      for (let i = 0; i < count; i++) runs[i] = exec(work);
      await Promise.all(runs);
    },
    async runOne(work) {
      await exec(work);
    },
    // workerpool's promise is its own thenable; make it a native one for the harness.
    teardown: async () => {
      await pool.terminate();
    },
  };
}
