/** Tinypool (Piscina's slimmer fork, used by Vitest) as a benchmark peer. */
import { Tinypool } from 'tinypool';
import { callPoolContender } from '../lib/call-pool.js';
import type { Contender } from '../lib/contender.js';

export function tinypool(): Contender {
  return callPoolContender('tinypool', (threads) => {
    const pool = new Tinypool({
      filename: new URL('../workers/tinypool-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
    });
    return { call: (work) => pool.run(work), close: () => pool.destroy() };
  });
}
