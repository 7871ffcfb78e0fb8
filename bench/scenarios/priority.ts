/**
 * The priority-order cost of batching: while a flood of low-priority no-op tasks flows
 * (handed to the threads in batches of up to 64, ~2 ms of work), a high-priority task is
 * submitted; how long until it has run, and how many low tasks finished in between (the
 * batches already on the threads). Reference: raw Piscina, whose queue is FIFO, with the
 * same flood: the "urgent" call waits for everything queued before it.
 */
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { Samples } from '../lib/stats.js';
import { THREADS, toRows, type Scenario } from '../lib/scenario.js';

/** Low tasks between two urgent arrivals: each arrival finds the flood in full flow. */
const SPACING = 1000;

async function offthreadSamples(flood: number, arrivals: number, add: (metric: string, value: number) => void): Promise<void> {
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: ':memory:', concurrency: THREADS });
  try {
    // Warm up: threads started, the no-op type known to be short (so it is batched).
    await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
    await rt.whenIdle();
    let lowDone = 0;
    let nextArrival = SPACING;
    let urgent: { id: string | undefined; at: number; lowAtSubmit: number } | undefined;
    const arrived: Promise<void>[] = [];
    const done = new Promise<void>((resolve) => {
      let taken = 0;
      const sub = rt.events$.subscribe((event) => {
        // The urgent task's id is known from its 'created' event, which submit() emits before
        // it returns: its completion may come before submit() has resolved.
        if (event.type === 'created' && event.priority === 'high' && urgent !== undefined) urgent.id = event.taskId;
        if (event.type !== 'completed') return;
        if (urgent !== undefined && event.taskId === urgent.id) {
          add('ms', performance.now() - urgent.at);
          add('overtaken', lowDone - urgent.lowAtSubmit);
          urgent = undefined;
          if (++taken === arrivals) {
            sub.unsubscribe();
            resolve();
          }
          return;
        }
        lowDone++;
        if (urgent === undefined && lowDone >= nextArrival && nextArrival <= SPACING * arrivals) {
          nextArrival += SPACING;
          urgent = { id: undefined, at: performance.now(), lowAtSubmit: lowDone };
          arrived.push(rt.submit('noop', 'noop', { priority: 'high' }).then(() => undefined));
        }
      });
    });
    await rt.submitMany(Array.from({ length: flood }, () => ({ type: 'noop', payload: 'noop', options: { priority: 'low' as const } })));
    await done;
    await Promise.all(arrived);
    await rt.whenIdle();
  } finally {
    await rt.close();
  }
}

async function piscinaSamples(flood: number, arrivals: number, add: (metric: string, value: number) => void): Promise<void> {
  const pool = new Piscina({ filename: new URL('../workers/piscina-worker.js', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS, idleTimeout: Infinity });
  try {
    await Promise.all(Array.from({ length: 200 }, () => pool.run('noop')));
    let lowDone = 0;
    const urgent: Promise<void>[] = [];
    const low: Promise<unknown>[] = new Array(flood);
    for (let i = 0; i < flood; i++) {
      low[i] = pool.run('noop').then(() => {
        lowDone++;
        if (lowDone % SPACING === 0 && lowDone <= SPACING * arrivals) {
          const at = performance.now();
          const lowAtSubmit = lowDone;
          urgent.push(
            pool.run('noop').then(() => {
              add('ms', performance.now() - at);
              add('overtaken', lowDone - lowAtSubmit);
            }),
          );
        }
      });
    }
    await Promise.all(low);
    await Promise.all(urgent);
  } finally {
    await pool.destroy();
  }
}

export const priority: Scenario = {
  name: 'priority',
  summary: 'a high-priority arrival during a flood of batched low-priority tasks',
  async run(ctx) {
    const arrivals = ctx.quick ? 5 : 20;
    const flood = SPACING * (arrivals + 2);
    const samples = new Samples();
    const rows = { offthread: "offthread ':memory:' (priority high)", piscina: 'raw piscina (FIFO; reference)' };
    await offthreadSamples(flood, arrivals, (metric, value) => samples.add(rows.offthread, metric, value));
    ctx.log(`priority: ${arrivals} offthread arrivals done`);
    await piscinaSamples(flood, arrivals, (metric, value) => samples.add(rows.piscina, metric, value));
    ctx.log(`priority: ${arrivals} raw piscina arrivals done`);
    return {
      scenario: 'priority',
      title: `one urgent no-op task submitted every ${SPACING} completions of a flood of ${flood} low-priority no-op tasks, ${arrivals} samples each, 2 threads`,
      columns: [
        { key: 'ms', label: 'submit -> completed ms', digits: 2 },
        { key: 'overtaken', label: 'low tasks finished meanwhile' },
      ],
      goal: "the cost of batching to priority order (issue 5 asks for it to be reported): a high-priority arrival waits behind at most the batches already on the threads (per thread: the running one, up to ~2 ms of work, and one sent ahead, up to ~1 ms)",
      rows: toRows({ samples, skipped: new Map() }, Object.values(rows)),
      notes: [
        'samples, not rounds: --rounds does not apply here.',
        'offthread: "low tasks finished meanwhile" are the batches already handed to the threads when the urgent task arrived (per thread, the running batch and the one sent ahead of it, up to 64 tasks each, sized to ~2 ms and ~1 ms of work); nothing waiting in the heap goes before it.',
        'raw piscina has no priorities: the urgent call waits for every call queued before it.',
      ],
    };
  },
};
