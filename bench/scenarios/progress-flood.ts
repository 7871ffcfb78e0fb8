/**
 * Progress flood: one handler calls ctx.progress 1,000,000 times in a tight loop. Counts
 * the progress events the host delivers (events$) and records the main thread's event-loop
 * delay meanwhile, with the default progressIntervalMs (50) and with 0 (no time-based
 * coalescing), each round on a fresh ':memory:' runtime.
 */
import { performance } from 'node:perf_hooks';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { Samples, collectGarbage, withLoopDelay } from '../lib/stats.js';
import { THREADS, heartbeat, toRows, type Scenario } from '../lib/scenario.js';

async function flood(count: number, progressIntervalMs: number) {
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: ':memory:', concurrency: THREADS, progressIntervalMs });
  try {
    let events = 0;
    const sub = rt.events$.subscribe((e) => {
      if (e.type === 'progress') events++;
    });
    const start = performance.now();
    const delay = await withLoopDelay(async () => (await rt.submit('progressFlood', { count })).result());
    const seconds = (performance.now() - start) / 1000;
    sub.unsubscribe();
    return { events, seconds, ...delay };
  } finally {
    await rt.close();
  }
}

export const progressFlood: Scenario = {
  name: 'progress-flood',
  summary: 'ctx.progress x 1M: events delivered, event-loop delay',
  async run(ctx) {
    const count = ctx.quick ? 100_000 : 1_000_000;
    const settings = [50, 0];
    const name = (ms: number) => `offthread progressIntervalMs ${ms}${ms === 50 ? ' (default)' : ''}`;
    const samples = new Samples();
    for (let round = 1; round <= ctx.rounds; round++) {
      const parts: string[] = [];
      for (let k = 0; k < settings.length; k++) {
        const ms = settings[(k + round - 1) % settings.length]!;
        collectGarbage();
        const r = await heartbeat(ctx, `progress-flood round ${round}/${ctx.rounds}, ${name(ms)}`, () => flood(count, ms));
        samples.add(name(ms), 'events', r.events);
        samples.add(name(ms), 'seconds', r.seconds);
        samples.add(name(ms), 'p50', r.p50);
        samples.add(name(ms), 'p99', r.p99);
        samples.add(name(ms), 'max', r.max);
        samples.add(name(ms), 'stall', r.stall);
        parts.push(`${ms} ms: ${r.events} events in ${r.seconds.toFixed(2)} s, p99 ${r.p99.toFixed(1)} ms`);
      }
      ctx.log(`progress-flood: round ${round}/${ctx.rounds}: ${parts.join('; ')}`);
    }
    return {
      scenario: 'progress-flood',
      title: `one task calling ctx.progress ${count} times, 2 threads, ${ctx.rounds} rounds`,
      columns: [
        { key: 'events', label: 'progress events' },
        { key: 'seconds', label: 'submit -> result s', digits: 2 },
        { key: 'p50', label: 'loop p50 ms', digits: 2 },
        { key: 'p99', label: 'loop p99 ms', digits: 1 },
        { key: 'max', label: 'loop max ms', digits: 0 },
        { key: 'stall', label: 'longest stall ms', digits: 0 },
      ],
      goal: 'the host stays responsive: event-loop p99 <= 10 ms, as in the event-loop scenario',
      rows: toRows({ samples, skipped: new Map() }, settings.map(name), {
        goal: (_n, m) => (m.p99 ? { text: 'p99 <= 10 ms', met: m.p99.median <= 10 } : undefined),
      }),
      notes: ['events: progress events on rt.events$ for the task; the worker and the host coalesce, so far fewer than the calls.'],
    };
  },
};
