/**
 * `ctx.emit` -> `output$`: one handler emits as fast as it can (each emit awaited), the host
 * reads every value. Values/s for small values ({ i }) and 1 KB ones, and the host's
 * event-loop delay p99 meanwhile (perf_hooks.monitorEventLoopDelay, 1 ms resolution).
 *
 *   node dist/bench/diagnostics/output-stream.js [values=200000] [rounds=3]
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';

export const stream = defineTask(async ({ count, size }: { count: number; size: number }, ctx) => {
  const filler = 'x'.repeat(size);
  for (let i = 0; i < count; i++) await ctx.emit(size === 0 ? { i } : { i, filler });
  return count;
});

const count = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 3);

// This module is its own handlers module: the worker threads import it for `stream`.
if (isMainThread) {
  const rt = await TaskRuntime.open({ handlers: new URL(import.meta.url), concurrency: 1 });
  for (const size of [0, 1000]) {
    const rates: number[] = [];
    const p99s: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const delay = monitorEventLoopDelay({ resolution: 1 });
      const handle = await rt.submit('stream', { count, size });
      let seen = 0;
      delay.enable();
      const start = performance.now();
      await new Promise<void>((resolve, reject) => handle.output$.subscribe({ next: () => seen++, complete: resolve, error: reject }));
      const ms = performance.now() - start;
      if (seen !== count) throw new Error(`${seen} values of ${count}`);
      delay.disable();
      rates.push(Math.round(seen / (ms / 1000)));
      p99s.push(Number((delay.percentile(99) / 1e6).toFixed(1)));
    }
    console.log(`${count} values of ${size === 0 ? '{ i }' : `${size} bytes`}: ${rates.join(' ')} values/s; event-loop p99 ${p99s.join(' ')} ms`);
  }
  await rt.close();
}
