/**
 * pg-scaling: CPU-bound tasks/s on one queue of PostgreSQL as host processes are added. A
 * producer-only runtime in this process submits the tasks (one submitMany) and awaits every
 * result; forked host processes, each with its own runtime on the same database and queue,
 * run them. 2 hosts of 1 thread against 1 host of 1 thread is the figure judged; 1 host of 2
 * threads is there to compare with.
 */
import { performance } from 'node:perf_hooks';
import { startPostgres, type PostgresServer } from '../lib/postgres-server.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { offthreadHosts, type QueueShape } from '../offthread-hosts.js';

const SHAPES: QueueShape[] = [
  { hosts: 1, threadsEach: 1 },
  { hosts: 2, threadsEach: 1 },
  { hosts: 1, threadsEach: 2 },
];

export const pgScaling: Scenario = {
  name: 'pg-scaling',
  summary: 'CPU-bound tasks/s on PostgreSQL: 2 host processes of 1 thread vs 1 host of 1 thread',
  async run(ctx) {
    const count = ctx.quick ? 200 : 800;
    let server: PostgresServer | undefined;
    const get = () => server!;
    const factories = SHAPES.map((shape) => () => offthreadHosts(get, shape));
    const names = factories.map((f) => f().name);
    const [one, two] = names as [string, string];

    server = await startPostgres();
    try {
      const rr = await roundRobin(ctx, 'pg-scaling', factories, async (c, add) => {
        const start = performance.now();
        await c.runMany(count, 'cpu');
        const rate = count / ((performance.now() - start) / 1000);
        add('rate', rate);
        return `${Math.round(rate)}/s`;
      });
      return {
        scenario: 'pg-scaling',
        title: `${count} CPU-bound (~4.5 ms) tasks submitted at once from a producer-only runtime, run by host processes on one queue of PostgreSQL 18, ${ctx.rounds} rounds; tasks/s`,
        columns: [{ key: 'rate', label: 'tasks/s' }],
        ratioLabel: 'vs 1 host x 1 thread',
        goal: '2 hosts of 1 thread >= 1.8x 1 host of 1 thread',
        rows: toRows(rr, names, {
          baseline: one,
          ratioOf: 'rate',
          goal: (name, _m, ratio) => (name === two && ratio !== undefined ? { text: '>= 1.8x', met: ratio >= 1.8 } : undefined),
        }),
        notes: [
          'each host is a forked node process with its own runtime (TaskRuntime.open on the same postgres:// URL and queue); the producer is this process\'s runtime with concurrency 0. The clock runs from the submitMany call to the last result() the producer sees.',
          'every host has run a task before the clock starts (warm-up), and each round starts on a fresh database.',
          'the machine has 2 cores, shared by the PostgreSQL server, the producer and the hosts\' main threads besides the worker threads.',
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
