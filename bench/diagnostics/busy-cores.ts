/**
 * What `niceIncrement` buys a host: while CPU-heavy tasks (~4 ms each, bench/lib/work.ts)
 * keep a thread busy on every core, (1) the event-loop delay of an otherwise idle main
 * thread, and (2) how much longer the host's own CPU work takes (200 slices of ~1 ms, one a
 * turn, against the same slices with nothing running). Worker threads at the host's priority
 * (0) and at the default (10), in turns.
 *
 *   node dist/bench/diagnostics/busy-cores.js [rounds]
 */
import { availableParallelism } from 'node:os';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { withLoopDelay } from '../lib/stats.js';
import { CPU_ITERATIONS } from '../lib/work.js';

const TASKS = 1000;
const rounds = Number(process.argv[2] ?? 3);
const threads = availableParallelism();
const SLICES = 200;

/** ~1 ms of the host's own work (a quarter of a task's loop). */
function slice(): number {
  let x = 0;
  for (let i = 0; i < CPU_ITERATIONS / 4; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

/** The host's slices, one a turn of the event loop (as a server's requests would be). */
async function hostWork(): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < SLICES; i++) {
    slice();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - start;
}

async function measure(niceIncrement: number): Promise<string> {
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: ':memory:', concurrency: threads, niceIncrement });
  try {
    await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'work', payload: 'cpu' })));
    await rt.whenIdle();
    const start = performance.now();
    const delay = await withLoopDelay(async () => {
      await rt.submitMany(Array.from({ length: TASKS }, () => ({ type: 'work', payload: 'cpu' })));
      await rt.whenIdle();
    });
    const seconds = (performance.now() - start) / 1000;
    const alone = await hostWork();
    const flow = Promise.all([rt.submitMany(Array.from({ length: TASKS }, () => ({ type: 'work', payload: 'cpu' }))).then(() => rt.whenIdle())]);
    const shared = await hostWork();
    await flow;
    return (
      `niceIncrement ${String(niceIncrement).padStart(2)}: ${TASKS} tasks in ${seconds.toFixed(2)} s; idle host's loop delay p50 ${delay.p50.toFixed(2)} ` +
      `p99 ${delay.p99.toFixed(2)} max ${delay.max.toFixed(1)} ms; host work ${alone.toFixed(0)} ms alone, ${shared.toFixed(0)} ms beside the tasks (${(shared / alone).toFixed(2)}x)`
    );
  } finally {
    await rt.close();
  }
}

console.log(`${threads} threads on ${threads} cores, ${TASKS} CPU tasks a run`);
for (let round = 0; round < rounds; round++) {
  for (const niceIncrement of round % 2 === 0 ? [0, 10] : [10, 0]) console.log(await measure(niceIncrement));
}
