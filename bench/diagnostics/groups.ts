/**
 * Groups and rates, measured:
 * - fairness: a big group (100,000 no-ops) and a small one (10) queued while both threads
 *   are held, 2 threads, ':memory:': how many of the big group's tasks end before the small
 *   group's last one. The no-op type is known to be short, so while the threads are held a
 *   call is sent ahead to each with a batch of the first queued tasks (the big group's, added
 *   first): those run before the turns begin;
 * - rate precision: 10,000 no-ops of a type limited to 200 starts per 100 ms: the starts
 *   (the `started` events' times) in every window of 100 ms, and the rate over the run.
 *
 *   node dist/bench/diagnostics/groups.js
 */
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';

export const noop = defineTask(() => undefined);
/** Holds its thread until the host lets go (service `release`). */
export const hold = defineTask(async (_: unknown, ctx) => {
  await (ctx.host as unknown as { release(): Promise<void> }).release();
});
export const rated = defineTask(() => undefined, { rate: { count: 200, perMs: 100 } });

const BIG = 100_000;
const SMALL = 10;
const RATED = 10_000;

// This module is its own handlers module: the worker threads import it.
if (isMainThread) {
  let released = Promise.resolve();
  const rt = await TaskRuntime.open({ handlers: new URL(import.meta.url), concurrency: 2, services: { release: () => released } });
  const ended: string[] = [];
  const starts: number[] = [];
  rt.events$.subscribe((event) => {
    if (event.type === 'completed' && event.taskType === 'noop') ended.push(event.taskId);
    if (event.type === 'started' && event.taskType === 'rated') starts.push(event.at);
  });
  await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
  await rt.whenIdle();
  // Two ways to queue both groups while both threads are held (every task queued before
  // dispatch begins): in one submitMany, or the big group's submitMany and then the small's
  // (calls sent ahead to the held threads take the big group's first tasks meanwhile).
  for (const together of [true, false]) {
    let letGo!: () => void;
    released = new Promise<void>((resolve) => (letGo = resolve));
    await rt.submitMany([{ type: 'hold' }, { type: 'hold' }]);
    ended.length = 0;
    const bigItems = Array.from({ length: BIG }, () => ({ type: 'noop', options: { group: 'big' } }));
    const smallItems = Array.from({ length: SMALL }, () => ({ type: 'noop', options: { group: 'small' } }));
    const handles = together ? await rt.submitMany([...bigItems, ...smallItems]) : [...(await rt.submitMany(bigItems)), ...(await rt.submitMany(smallItems))];
    const small = new Set(handles.slice(BIG).map((h) => h.id));
    letGo();
    await rt.whenIdle();
    const lastSmall = Math.max(...ended.map((id, i) => (small.has(id) ? i : -1)));
    const bigBefore = ended.slice(0, lastSmall).filter((id) => !small.has(id)).length;
    console.log(`fairness (${together ? 'one submitMany' : 'two submitMany calls'}): ${BIG} tasks of group "big", then ${SMALL} of "small": the small group's last task ended after ${bigBefore} of the big group's`);
  }

  const start = performance.now();
  await rt.submitMany(Array.from({ length: RATED }, () => ({ type: 'rated' })));
  await rt.whenIdle();
  const seconds = (performance.now() - start) / 1000;
  starts.sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= 100) j++;
    most = Math.max(most, i - j + 1);
  }
  console.log(`rate: ${RATED} tasks limited to 200 starts per 100 ms: ${(RATED / seconds).toFixed(0)} starts/s over the run (limit 2000/s); at most ${most} starts in any 100 ms window of their started times`);
  await rt.close();
}
