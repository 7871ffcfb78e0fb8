// Handlers the benchmarks run through offthread: the same work as the peers' workers.
import { defineTask } from 'offthread/worker';
import { doWork, type Work } from './lib/work.js';

export const noop = defineTask(() => undefined);

export const work = defineTask((kind: Work) => doWork(kind));

/** Calls ctx.progress `count` times in a tight loop (the progress-flood scenario). */
export const progressFlood = defineTask(({ count }: { count: number }, ctx) => {
  for (let i = 1; i <= count; i++) ctx.progress((i / count) * 100);
  return count;
});

/** Checkpoints until cancelled (cancel latency, cooperative). */
export const checkpointing = defineTask(async (_: unknown, ctx) => {
  ctx.progress(1, 'started');
  for (;;) {
    await ctx.checkpoint();
    await new Promise((resolve) => setImmediate(resolve));
  }
});

/** Spins without checkpoints until its thread is terminated (cancel latency, stuck). */
export const stuck = defineTask((_: unknown, ctx) => {
  ctx.progress(1, 'started');
  for (;;) {
    // never checkpoints
  }
});
