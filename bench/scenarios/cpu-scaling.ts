/**
 * CPU scaling: tasks of ~5 ms of CPU (bench/lib/work.ts). Each round first measures the
 * single-thread rate (the same work in a loop on the main thread, nothing else running),
 * then each contender's throughput; efficiency = throughput / (2 threads x that rate).
 */
import { performance } from 'node:perf_hooks';
import { doWork } from '../lib/work.js';
import { roundRobin, THREADS, toRows, type Scenario } from '../lib/scenario.js';
import { BASELINE, isOffthread, peers, variants } from '../registry.js';

const SINGLE = 'single thread (main-thread loop)';

export const cpuScaling: Scenario = {
  name: 'cpu-scaling',
  summary: 'CPU-bound throughput / (threads x single-thread rate)',
  async run(ctx) {
    const count = ctx.quick ? 200 : 2_000;
    const singleCount = ctx.quick ? 20 : 100;
    let single = NaN;
    const factories = [variants.raw, variants.memory, variants.file, ...peers.pools()];
    const rr = await roundRobin(
      ctx,
      'cpu-scaling',
      factories,
      async (c, add) => {
        const start = performance.now();
        await c.runMany(count, 'cpu');
        const rate = count / ((performance.now() - start) / 1000);
        add('rate', rate);
        add('efficiency', rate / (THREADS * single));
        return `${(rate / (THREADS * single)).toFixed(3)}`;
      },
      async (samples) => {
        doWork('cpu'); // the first call compiles the loop
        const start = performance.now();
        for (let i = 0; i < singleCount; i++) doWork('cpu');
        const ms = performance.now() - start;
        single = singleCount / (ms / 1000);
        samples.add(SINGLE, 'rate', single);
        samples.add(SINGLE, 'taskMs', ms / singleCount);
        return `single ${single.toFixed(1)}/s (${(ms / singleCount).toFixed(1)} ms a task)`;
      },
    );
    return {
      scenario: 'cpu-scaling',
      title: `${count} CPU tasks, 2 threads, ${ctx.rounds} rounds; efficiency = tasks/s / (2 x single-thread tasks/s of the same round)`,
      columns: [
        { key: 'rate', label: 'tasks/s', digits: 1 },
        { key: 'taskMs', label: 'ms a task', digits: 2 },
        { key: 'efficiency', label: 'efficiency', digits: 3 },
      ],
      ratioLabel: 'tasks/s vs raw piscina',
      goal: 'efficiency >= 0.95',
      rows: toRows(rr, [SINGLE, ...rr.names], {
        baseline: BASELINE,
        ratioOf: 'rate',
        goal: (name, m) => (isOffthread(name) && m.efficiency ? { text: '>= 0.95', met: m.efficiency.median >= 0.95 } : undefined),
      }),
      notes: [
        `single-thread rate: ${singleCount} tasks in a loop on the main thread at the start of each round (calibrated as ~5 ms a task elsewhere; "ms a task" is the figure here).`,
        'the main thread also has to dispatch and record tasks on the same 2 cores, so efficiency includes that cost.',
        'efficiency compares with a rate measured seconds earlier, so load from other processes in between moves it; the ratio to raw piscina (same round, in turns) is steadier.',
      ],
    };
  },
};
