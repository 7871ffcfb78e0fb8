/**
 * Latency: submit -> result on an idle runtime, one task at a time (each awaited before the
 * next), after a warm-up; p50 and p99 in microseconds against raw Piscina's run().
 */
import { performance } from 'node:perf_hooks';
import { percentile } from '../lib/stats.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { BASELINE, isOffthread, peers, variants } from '../registry.js';

export const latency: Scenario = {
  name: 'latency',
  summary: 'submit -> result on an idle runtime, p50/p99 µs',
  async run(ctx) {
    const count = ctx.quick ? 500 : 2_000;
    const warmup = ctx.quick ? 100 : 200;
    const factories = [variants.raw, variants.memory, variants.file, ...peers.pools(), ...peers.durable()];
    const barePools = [BASELINE, ...peers.pools().map((factory) => factory().name)];
    const rr = await roundRobin(ctx, 'latency', factories, async (c, add) => {
      for (let i = 0; i < warmup; i++) await c.runOne('noop');
      const us = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await c.runOne('noop');
        us[i] = (performance.now() - start) * 1000;
      }
      us.sort((a, b) => a - b);
      add('p50', percentile(us, 50));
      add('p99', percentile(us, 99));
      return `p50 ${Math.round(percentile(us, 50))} µs`;
    });
    return {
      scenario: 'latency',
      title: `${count} sequential no-op tasks after ${warmup} to warm up, 2 threads, ${ctx.rounds} rounds; microseconds`,
      columns: [
        { key: 'p50', label: 'p50 µs' },
        { key: 'p99', label: 'p99 µs' },
      ],
      ratioLabel: 'p50 vs raw piscina',
      goal: "p50 within 2x of raw Piscina's run(), judged on offthread's fastest round against the fastest round of a bare pool (raw Piscina, or a peer pool: the same thread round trip), since that round trip is bimodal here (below) and raw Piscina alone can draw its slow mode in every round",
      rows: toRows(rr, rr.names, {
        baseline: BASELINE,
        ratioOf: 'p50',
        goal: (name, m) => {
          const fastest = m.p50?.min;
          const poolFastest = Math.min(...barePools.map((pool) => rr.samples.metrics(pool).p50?.min ?? Number.POSITIVE_INFINITY));
          if (!isOffthread(name) || fastest === undefined || !Number.isFinite(poolFastest)) return undefined;
          const ratio = fastest / poolFastest;
          return { text: `<= 2x (fastest rounds: ${ratio.toFixed(1)}x)`, met: ratio <= 2 };
        },
      }),
      notes: [
        'offthread: submit() resolves once the task is committed and result() once its end is, so a lone task pays two SQLite transactions (a WAL commit each with a file, synchronous=NORMAL).',
        "bimodal on a 2-core VM: each pool, once set up, stays in one of two modes for all its samples, a p50 of ~11-18 µs or of ~75-90 µs for raw Piscina and the peers alike (where the OS placed its threads, it seems: measured interleaved, 100 samples each in turn, one pool was fast and another slow in the same second). Read the min and max with the median.",
      ],
    };
  },
};
