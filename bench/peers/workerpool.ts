/** workerpool with worker_threads (not child processes) as a benchmark peer. */
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import { callPoolContender } from '../lib/call-pool.js';
import type { Contender } from '../lib/contender.js';

export function workerpoolPeer(): Contender {
  return callPoolContender('workerpool', (threads) => {
    const pool = workerpool.pool(fileURLToPath(new URL('../workers/workerpool-worker.js', import.meta.url)), {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    // workerpool's promise is its own thenable: wrap it in a native one for the harness.
    return {
      call: async (work) => pool.exec('doWork', [work]),
      close: async () => {
        await pool.terminate();
      },
    };
  });
}
