/**
 * Tasks with results while something listens to events$ without reading them (a dashboard,
 * a counter of ends): 10,000 echoes of a 50-row object, submitted then whenIdle(), 2
 * threads, `:memory:`. A completed event decodes its result only when read, so this costs
 * no deserialization per task.
 *
 *   node dist/bench/diagnostics/event-results.js [rounds]
 */
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';

export const echo = defineTask((payload: unknown) => payload);

const rounds = Number(process.argv[2] ?? 5);
const TASKS = 10_000;

// This module is its own handlers module: the worker threads import it for `echo`.
if (isMainThread) {
  const rt = await TaskRuntime.open({ handlers: new URL(import.meta.url), concurrency: 2 });
  let ends = 0;
  rt.events$.subscribe((event) => {
    if (event.type === 'completed') ends++;
  });
  const payload = { rows: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `row ${i}`, tags: ['a', 'b'] })) };
  const rates: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < TASKS; i++) void rt.submit('echo', payload);
    await rt.whenIdle();
    if (round > 0) rates.push(Math.round(TASKS / ((performance.now() - start) / 1000)));
  }
  console.log(`${TASKS} echoes of a 50-row object, an events$ listener that reads no result: ${rates.join(' ')} tasks/s (${ends} ends heard)`);
  await rt.close();
}
