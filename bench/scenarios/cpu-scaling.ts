/**
 * CPU scaling: tasks of ~5 ms of CPU (bench/lib/work.ts). Right before and right after each
 * contender's run, the single-thread rate is measured (the same work in a loop on the main
 * thread, the contender's threads idle); efficiency = its throughput / (2 threads x the mean
 * of the two). The machine's speed drifts by several percent within seconds here: a rate
 * taken at the start of the round would put that drift into every later contender's
 * efficiency, and one taken only before the run still misses the drift during it (it can
 * read efficiencies above 1).
 */
import { performance } from 'node:perf_hooks';
import { doWork } from '../lib/work.js';
import { roundRobin, THREADS, toRows, type Scenario } from '../lib/scenario.js';
import { BASELINE, isOffthread, peers, variants } from '../registry.js';

const SINGLE = 'single thread (main-thread loop)';

/** Tasks per second of the work in a loop on the main thread; `taskMs` hears ms a task. */
function singleRate(tasks: number, taskMs: (ms: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < tasks; i++) doWork('cpu');
  const ms = performance.now() - start;
  taskMs(ms / tasks);
  return tasks / (ms / 1000);
}

export const cpuScaling: Scenario = {
  name: 'cpu-scaling',
  summary: 'CPU-bound throughput / (threads x single-thread rate)',
  async run(ctx) {
    const count = ctx.quick ? 200 : 2_000;
    const singleCount = ctx.quick ? 20 : 100;
    const factories = [variants.raw, variants.memory, variants.file, ...peers.pools()];
    const rr = await roundRobin(
      ctx,
      'cpu-scaling',
      factories,
      async (c, add) => {
        const before = singleRate(singleCount, () => undefined);
        const start = performance.now();
        await c.runMany(count, 'cpu');
        const rate = count / ((performance.now() - start) / 1000);
        const reference = (before + singleRate(singleCount, () => undefined)) / 2;
        add('rate', rate);
        add('single', reference);
        add('efficiency', rate / (THREADS * reference));
        return `${(rate / (THREADS * reference)).toFixed(3)}`;
      },
      async (samples) => {
        doWork('cpu'); // the first call compiles the loop
        const rate = singleRate(singleCount, (ms) => samples.add(SINGLE, 'taskMs', ms));
        samples.add(SINGLE, 'rate', rate);
        return `single ${rate.toFixed(1)}/s`;
      },
    );
    return {
      scenario: 'cpu-scaling',
      title: `${count} CPU tasks, 2 threads, ${ctx.rounds} rounds; efficiency = tasks/s / (2 x single-thread tasks/s measured right before and after)`,
      columns: [
        { key: 'rate', label: 'tasks/s', digits: 1 },
        { key: 'single', label: 'single-thread tasks/s around it', digits: 1 },
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
        `single-thread rate: the mean of ${singleCount} tasks in a loop on the main thread right before each contender's run and ${singleCount} right after (its threads started and idle); the first row is the same loop at the start of each round ("ms a task": ~4-5 ms here).`,
        'the main thread also has to dispatch and record tasks on the same 2 cores, so efficiency includes that cost.',
        'the machine\'s speed drifts within seconds, so efficiency still moves from round to round; the ratio to raw piscina (same round, in turns) is steadier.',
      ],
    };
  },
};
