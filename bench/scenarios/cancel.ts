/**
 * Cancel latency: time from rt.cancel(id) to the task's 'cancelled' event, for a handler
 * that checkpoints (cooperative) and one stuck in a loop (its thread is terminated after
 * cancelGraceMs = 100). Each sample waits until the handler has said it runs (its first
 * progress) and runs on for 20 ms, so the cancel hits a running handler. Not the 'started'
 * event: a lone task counts as started when it is sent, and the thread Piscina starts in
 * place of a terminated one may still be loading its modules then, and a 'stuck' sample would
 * time the cancel of a task whose handler never began (~1 ms). Reference: raw Piscina aborting
 * a stuck task with an AbortSignal (it terminates the thread at once: no grace period).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';
import { eventWaiter } from '../lib/events.js';
import { HANDLERS } from '../contenders.js';
import { Samples } from '../lib/stats.js';
import { THREADS, toRows, type Scenario } from '../lib/scenario.js';

const GRACE_MS = 100;

async function offthreadSamples(type: 'checkpointing' | 'stuck', count: number, add: (ms: number) => void): Promise<void> {
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: ':memory:', concurrency: THREADS, cancelGraceMs: GRACE_MS });
  const events = eventWaiter(rt, ['progress', 'cancelled']);
  try {
    for (let i = 0; i < count; i++) {
      const handle = await rt.submit(type);
      await events.when(handle.id, 'progress');
      await sleep(20);
      const t0 = performance.now();
      const cancelling = rt.cancel(handle.id);
      const t1 = await events.when(handle.id, 'cancelled');
      add(t1 - t0);
      await cancelling;
      await handle.result().catch(() => undefined);
    }
  } finally {
    events.stop();
    await rt.close({ graceful: false });
  }
}

async function piscinaSamples(count: number, add: (ms: number) => void): Promise<void> {
  const pool = new Piscina({ filename: new URL('../workers/piscina-spin.js', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS });
  try {
    for (let i = 0; i < count; i++) {
      const abort = new AbortController();
      const run = pool.run(null, { signal: abort.signal }).catch(() => undefined);
      await sleep(50); // a thread picks it up and spins
      const t0 = performance.now();
      abort.abort();
      await run;
      add(performance.now() - t0);
    }
  } finally {
    await pool.destroy();
  }
}

export const cancel: Scenario = {
  name: 'cancel',
  summary: 'rt.cancel(id) -> cancelled, checkpointing and stuck handlers',
  async run(ctx) {
    const count = ctx.quick ? 5 : 20;
    const samples = new Samples();
    const rows = {
      checkpointing: 'offthread checkpointing (cooperative)',
      stuck: `offthread stuck (cancelGraceMs ${GRACE_MS})`,
      piscina: 'raw piscina stuck, AbortSignal (reference)',
    };
    await offthreadSamples('checkpointing', count, (ms) => samples.add(rows.checkpointing, 'ms', ms));
    ctx.log(`cancel: ${count} checkpointing samples done`);
    await offthreadSamples('stuck', count, (ms) => samples.add(rows.stuck, 'ms', ms));
    ctx.log(`cancel: ${count} stuck samples done`);
    await piscinaSamples(count, (ms) => samples.add(rows.piscina, 'ms', ms));
    ctx.log(`cancel: ${count} raw piscina samples done`);
    return {
      scenario: 'cancel',
      title: `rt.cancel(id) -> 'cancelled' event, ${count} samples each (one runtime, ':memory:', 2 threads); ms, median (min-max) of the samples`,
      columns: [{ key: 'ms', label: 'ms', digits: 1 }],
      goal: `cooperative <= 10 ms; stuck <= cancelGraceMs + 100 = ${GRACE_MS + 100} ms (judged on the worst sample)`,
      rows: toRows({ samples, skipped: new Map() }, Object.values(rows), {
        goal: (name, m) => {
          if (name === rows.checkpointing) return { text: '<= 10 ms', met: m.ms!.max <= 10 };
          if (name === rows.stuck) return { text: `<= ${GRACE_MS + 100} ms`, met: m.ms!.max <= GRACE_MS + 100 };
          return undefined;
        },
      }),
      notes: ['samples, not rounds: --rounds does not apply here.'],
    };
  },
};
