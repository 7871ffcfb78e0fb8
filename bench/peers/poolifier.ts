/** Poolifier's FixedThreadPool, with its defaults (no pool-side task queue), as a benchmark peer. */
import { fileURLToPath } from 'node:url';
import { FixedThreadPool } from 'poolifier';
import { callPoolContender } from '../lib/call-pool.js';
import type { Contender } from '../lib/contender.js';
import type { Work } from '../lib/work.js';

export function poolifier(): Contender {
  return callPoolContender('poolifier', (threads) => {
    // Poolifier takes a file path, not a URL.
    const pool = new FixedThreadPool<Work, number>(threads, fileURLToPath(new URL('../workers/poolifier-worker.js', import.meta.url)));
    return { call: (work) => pool.execute(work), close: () => pool.destroy() };
  });
}
