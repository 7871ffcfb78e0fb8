/**
 * Main-thread responsiveness: event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution) while 100k no-op tasks, submitted at once, flow through each contender.
 * The histogram covers everything from the first submit to the last result.
 */
import { performance } from 'node:perf_hooks';
import { withLoopDelay } from '../lib/stats.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { isOffthread, peers, variants } from '../registry.js';

export const eventLoop: Scenario = {
  name: 'event-loop',
  summary: 'event-loop delay p50/p99/max while 100k no-op tasks flow',
  async run(ctx) {
    const count = ctx.quick ? 10_000 : 100_000;
    const factories = [variants.raw, variants.memory, variants.memoryMany, variants.file, variants.fileMany, ...peers.pools()];
    const rr = await roundRobin(ctx, 'event-loop', factories, async (c, add) => {
      const start = performance.now();
      const delay = await withLoopDelay(() => c.runMany(count, 'noop'));
      add('p50', delay.p50);
      add('p99', delay.p99);
      add('max', delay.max);
      add('count', delay.count);
      add('stall', delay.stall);
      add('seconds', (performance.now() - start) / 1000);
      return `p99 ${delay.p99.toFixed(1)} ms`;
    });
    return {
      scenario: 'event-loop',
      title: `event-loop delay while ${count} no-op tasks (submitted at once) run, 2 threads, ${ctx.rounds} rounds; ms`,
      columns: [
        { key: 'p50', label: 'p50 ms', digits: 2 },
        { key: 'p99', label: 'p99 ms', digits: 1 },
        { key: 'max', label: 'max ms', digits: 0 },
        { key: 'count', label: 'samples' },
        { key: 'stall', label: 'longest stall ms', digits: 0 },
        { key: 'seconds', label: 'run s', digits: 2 },
      ],
      goal: 'p99 <= 10 ms',
      rows: toRows(rr, rr.names, {
        goal: (name, m) => (isOffthread(name) && m.p99 ? { text: '<= 10 ms', met: m.p99.median <= 10 } : undefined),
      }),
      notes: [
        'p50/p99/max: perf_hooks.monitorEventLoopDelay (resolution 1 ms); samples: how many delays it recorded. It cannot see a stall before its first timer, so a run that keeps the loop busy throughout shows few samples and a low p99: read "longest stall" (the longest gap between loop turns, from the first submit to the last result, by a 1 ms interval) with it.',
        'a loop that submits every task in one synchronous turn (raw piscina, pools, offthread submit loop) blocks the loop for that whole turn.',
      ],
    };
  },
};
