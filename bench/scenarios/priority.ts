/**
 * The priority-order cost of batching: while a flood of low-priority tasks flows, a
 * high-priority task of the same work is submitted; how long until it has run, and how many
 * low tasks finished in between. Two floods: no-ops (handed to the threads in batches of up
 * to 64, ~2 ms of work) and ~4 ms CPU tasks (sent ahead two to a call, taken back for the
 * urgent one if not started). Reference: raw Piscina, whose queue is FIFO, with the same
 * flood: the "urgent" call waits for everything queued before it.
 */
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { Samples } from '../lib/stats.js';
import { THREADS, toRows, type Scenario } from '../lib/scenario.js';
import type { Work } from '../lib/work.js';

/** Low tasks between two urgent arrivals: each arrival finds the flood in full flow (~0.2 s of no-ops, ~45 ms of CPU tasks). */
const SPACING: Record<Work, number> = { noop: 1000, cpu: 20 };
/** The flood is stored this many at a time, topped up when fewer are queued (see offthreadSamples). */
const FEED_CHUNK: Record<Work, number> = { noop: 2000, cpu: 40 };

const typeOf = (work: Work): string => (work === 'noop' ? 'noop' : 'work');

async function offthreadSamples(work: Work, flood: number, arrivals: number, add: (metric: string, value: number) => void): Promise<void> {
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: ':memory:', concurrency: THREADS });
  const type = typeOf(work);
  const spacing = SPACING[work];
  try {
    // Warm up: threads started, the type's length known (no-ops are batched, CPU tasks sent ahead in pairs).
    await rt.submitMany(Array.from({ length: work === 'noop' ? 200 : 20 }, () => ({ type, payload: work })));
    await rt.whenIdle();
    let lowDone = 0;
    // The flood is fed in chunks, a new one stored whenever fewer than a chunk are left
    // queued, so the queue is always in full flow and every arrival finds its insert behind a
    // chunk's at most. (One submitMany of the whole flood would hold every task's events until
    // its one transaction is stored, by when a no-op flood has run: a submit made meanwhile
    // would measure that commit, not the urgent task's place in the queue.)
    const chunk = FEED_CHUNK[work];
    let submitted = 0;
    let finished = false;
    let room: (() => void) | undefined;
    // Arrivals begin once the first chunk is stored.
    let nextArrival = Number.POSITIVE_INFINITY;
    let sent = 0;
    let urgent: { id: string | undefined; at: number; lowAtSubmit: number } | undefined;
    const arrived: Promise<void>[] = [];
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      let taken = 0;
      finish = () => {
        finished = true;
        sub.unsubscribe();
        room?.();
        resolve();
      };
      const sub = rt.events$.subscribe((event) => {
        // The urgent task's id is known from its 'created' event, told before its end's.
        if (event.type === 'created' && event.priority === 'high' && urgent !== undefined) urgent.id = event.taskId;
        if (event.type !== 'completed') return;
        if (urgent !== undefined && event.taskId === urgent.id) {
          add('ms', performance.now() - urgent.at);
          add('overtaken', lowDone - urgent.lowAtSubmit);
          urgent = undefined;
          if (++taken === arrivals) finish();
          return;
        }
        // The flood ran out before every arrival (it is sized so that it does not): the samples taken are kept.
        if (++lowDone === flood) finish();
        if (room !== undefined && submitted - lowDone < chunk) {
          const go = room;
          room = undefined;
          go();
        }
        if (urgent === undefined && lowDone >= nextArrival && sent < arrivals) {
          sent++;
          nextArrival = lowDone + spacing;
          urgent = { id: undefined, at: performance.now(), lowAtSubmit: lowDone };
          arrived.push(rt.submit(type, work, { priority: 'high' }).then(() => undefined));
        }
      });
    });
    while (submitted < flood && !finished) {
      const count = Math.min(chunk, flood - submitted);
      await rt.submitMany(Array.from({ length: count }, () => ({ type, payload: work, options: { priority: 'low' as const } })));
      submitted += count;
      if (sent === 0 && nextArrival === Number.POSITIVE_INFINITY) nextArrival = lowDone + spacing;
      if (submitted - lowDone >= chunk && !finished) await new Promise<void>((resolve) => (room = resolve));
    }
    await done;
    await Promise.all(arrived);
    await rt.whenIdle();
  } finally {
    await rt.close();
  }
}

async function piscinaSamples(work: Work, flood: number, arrivals: number, add: (metric: string, value: number) => void): Promise<void> {
  const pool = new Piscina({ filename: new URL('../workers/piscina-worker.js', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS, idleTimeout: Infinity });
  const spacing = SPACING[work];
  try {
    await Promise.all(Array.from({ length: work === 'noop' ? 200 : 20 }, () => pool.run(work)));
    let lowDone = 0;
    const urgent: Promise<void>[] = [];
    const low: Promise<unknown>[] = new Array(flood);
    for (let i = 0; i < flood; i++) {
      low[i] = pool.run(work).then(() => {
        lowDone++;
        if (lowDone % spacing === 0 && lowDone <= spacing * arrivals) {
          const at = performance.now();
          const lowAtSubmit = lowDone;
          urgent.push(
            pool.run(work).then(() => {
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
    const samples = new Samples();
    const rows = {
      noop: { offthread: "offthread ':memory:' (priority high), no-ops", piscina: 'raw piscina (FIFO; reference), no-ops' },
      cpu: { offthread: "offthread ':memory:' (priority high), 4 ms tasks", piscina: 'raw piscina (FIFO; reference), 4 ms tasks' },
    };
    // Room for every arrival after the first chunk of the flood is stored.
    const floods: Record<Work, number> = { noop: SPACING.noop * (arrivals + 2) + FEED_CHUNK.noop, cpu: SPACING.cpu * (arrivals + 2) + FEED_CHUNK.cpu };
    for (const work of ['noop', 'cpu'] as const) {
      await offthreadSamples(work, floods[work], arrivals, (metric, value) => samples.add(rows[work].offthread, metric, value));
      ctx.log(`priority: ${arrivals} offthread arrivals done (${work})`);
      await piscinaSamples(work, floods[work], arrivals, (metric, value) => samples.add(rows[work].piscina, metric, value));
      ctx.log(`priority: ${arrivals} raw piscina arrivals done (${work})`);
    }
    return {
      scenario: 'priority',
      title: `one urgent task submitted every ${SPACING.noop} completions of a flood of ${floods.noop} low-priority no-ops, and every ${SPACING.cpu} of ${floods.cpu} ~4 ms CPU tasks (the urgent one the same work), ${arrivals} samples each, 2 threads`,
      columns: [
        { key: 'ms', label: 'submit -> completed ms', digits: 2 },
        { key: 'overtaken', label: 'low tasks finished meanwhile' },
      ],
      goal: "report the cost of batching to priority order: a high-priority no-op waits behind at most the batches already on the threads (per thread: the running one, up to ~2 ms of work, and one sent ahead, up to ~1 ms); a 4 ms one behind the task each thread has in hand",
      rows: toRows({ samples, skipped: new Map() }, [...Object.values(rows.noop), ...Object.values(rows.cpu)]),
      notes: [
        'samples, not rounds: --rounds does not apply here.',
        'offthread, no-ops: "low tasks finished meanwhile" counts the lows told completed meanwhile. An event is told once its write is committed, so they are the batches already handed to the threads when the urgent task arrived (per thread, the running batch and the one sent ahead of it, up to 64 tasks each, sized to ~2 ms and ~1 ms of work), and the lows whose ends are committed with or before the urgent task\'s insert and end: the flood is fed in chunks of 2000 (the next stored when fewer are queued), so its insert may wait for a chunk\'s. Nothing waiting in the heap runs before it.',
        'offthread, 4 ms tasks: "submit -> completed" includes the urgent task\'s own ~4 ms. Tasks sent ahead that have not started are taken back for it, so it waits for a task a thread has in hand (Piscina picks the thread: not always the one that finishes first), then runs alone in its call.',
        'raw piscina has no priorities: the urgent call waits for every call queued before it.',
      ],
    };
  },
};
