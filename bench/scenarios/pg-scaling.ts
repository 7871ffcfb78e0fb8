/**
 * pg-scaling: CPU-bound tasks/s on one queue of PostgreSQL as host processes are added. A
 * producer-only runtime in this process submits the tasks (one submitMany) and awaits every
 * result; forked host processes, each with its own runtime on the same database and queue,
 * run them. 2 hosts of 1 thread against 1 host of 1 thread is the figure judged; 1 host of 2
 * threads is there to compare with.
 *
 * Beside the rate, where the CPU went, per task: the PostgreSQL server (its postmaster and
 * backends), the host processes (their worker threads' work included) and the producer, and
 * how many of the machine's cores were busy with them; and how long a task's work took on its
 * thread against the same work alone on an idle core, measured before each round.
 */
import { performance } from 'node:perf_hooks';
import type { Contender } from '../lib/contender.js';
import { startPostgres, type PostgresServer } from '../lib/postgres-server.js';
import { processCpuMs, treeCpuMs } from '../lib/process-cpu.js';
import { resultsOf } from '../lib/remote-results.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { doWork } from '../lib/work.js';
import { openSharedQueue, type QueueShape, type SharedQueue } from '../offthread-hosts.js';

const SHAPES: QueueShape[] = [
  { hosts: 1, threadsEach: 1 },
  { hosts: 2, threadsEach: 1 },
  { hosts: 1, threadsEach: 2 },
];

interface Measured {
  rate: number;
  /** Mean run time of a task's work on its thread, ms. */
  runMs: number;
  /** CPU ms per task; undefined where /proc cannot be read. */
  postgres?: number;
  hosts?: number;
  producer: number;
  /** All three's CPU over the elapsed time. */
  cores?: number;
}

interface Hosts extends Contender {
  measure(count: number): Promise<Measured>;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const sum = (xs: Array<number | undefined>) => (xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + x!, 0));

function hostsContender(server: () => PostgresServer, shape: QueueShape): Hosts {
  let queue: SharedQueue | undefined;
  return {
    name: `offthread postgres: ${plural(shape.hosts, 'host')} x ${plural(shape.threadsEach, 'thread')}`,
    async setup() {
      queue = await openSharedQueue(server(), shape);
    },
    async measure(count) {
      const { producer, hosts } = queue!;
      const pg = server().pid;
      const cpu = () => ({ postgres: treeCpuMs(pg), hosts: sum(hosts.map((h) => processCpuMs(h.pid))), producer: process.cpuUsage() });
      const before = cpu();
      const start = performance.now();
      const handles = await producer.submitMany(Array.from({ length: count }, () => ({ type: 'timedWork', payload: 'cpu' })));
      const runs = await resultsOf<number>(producer, handles);
      const elapsed = performance.now() - start;
      const after = cpu();
      const used = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (a - b) / count);
      const producerUsage = process.cpuUsage(before.producer);
      const out: Measured = {
        rate: count / (elapsed / 1000),
        runMs: runs.reduce((a, x) => a + x, 0) / count,
        producer: (producerUsage.user + producerUsage.system) / 1000 / count,
      };
      const postgres = used(after.postgres, before.postgres);
      const hostsCpu = used(after.hosts, before.hosts);
      if (postgres !== undefined) out.postgres = postgres;
      if (hostsCpu !== undefined) out.hosts = hostsCpu;
      if (postgres !== undefined && hostsCpu !== undefined) out.cores = ((postgres + hostsCpu + out.producer) * count) / elapsed;
      return out;
    },
    runMany: () => Promise.reject(new Error('not used')),
    runOne: () => Promise.reject(new Error('not used')),
    async teardown() {
      await queue?.close();
      queue = undefined;
    },
  };
}

/** The work's time alone on this idle main thread, ms (the median of a few). */
function workAloneMs(): number {
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = performance.now();
    doWork('cpu');
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[10]!;
}

export const pgScaling: Scenario = {
  name: 'pg-scaling',
  summary: 'CPU-bound tasks/s on PostgreSQL: 2 host processes of 1 thread vs 1 host of 1 thread',
  async run(ctx) {
    const count = ctx.quick ? 200 : 800;
    let server: PostgresServer | undefined;
    const get = () => server!;
    const factories = SHAPES.map((shape) => () => hostsContender(get, shape));
    const names = factories.map((f) => f().name);
    const [one, two] = names as [string, string];
    const alone: number[] = [];

    server = await startPostgres();
    try {
      const rr = await roundRobin(
        ctx,
        'pg-scaling',
        factories,
        async (c, add) => {
          const m = await (c as Hosts).measure(count);
          for (const [key, value] of Object.entries(m)) if (value !== undefined) add(key, value);
          return `${Math.round(m.rate)}/s, ${m.runMs.toFixed(1)} ms a task, ${m.cores?.toFixed(2) ?? '?'} cores busy`;
        },
        async () => {
          alone.push(workAloneMs());
          return `the work alone ${alone.at(-1)!.toFixed(2)} ms`;
        },
      );
      alone.sort((a, b) => a - b);
      return {
        scenario: 'pg-scaling',
        title: `${count} CPU-bound tasks submitted at once from a producer-only runtime, run by host processes on one queue of PostgreSQL 18, ${ctx.rounds} rounds; tasks/s, and ms per task`,
        columns: [
          { key: 'rate', label: 'tasks/s' },
          { key: 'runMs', label: 'work ms on its thread', digits: 2 },
          { key: 'postgres', label: 'postgres CPU ms', digits: 2 },
          { key: 'hosts', label: 'hosts CPU ms', digits: 2 },
          { key: 'producer', label: 'producer CPU ms', digits: 2 },
          { key: 'cores', label: 'cores busy', digits: 2 },
        ],
        ratioLabel: 'vs 1 host x 1 thread',
        goal: '2 hosts of 1 thread >= 1.8x 1 host of 1 thread',
        rows: toRows(rr, names, {
          baseline: one,
          ratioOf: 'rate',
          goal: (name, _m, ratio) => (name === two && ratio !== undefined ? { text: '>= 1.8x', met: ratio >= 1.8 } : undefined),
        }),
        notes: [
          "each host is a forked node process with its own runtime (TaskRuntime.open on the same postgres:// URL and queue); the producer is this process's runtime with concurrency 0. The clock runs from the submitMany call to the last result() the producer sees.",
          `the work alone takes ${alone[alone.length >> 1]!.toFixed(2)} ms on an idle core (median of the rounds' measures, ${alone[0]!.toFixed(2)}-${alone.at(-1)!.toFixed(2)}); "work ms on its thread" above that is time its thread waited for a core while it ran.`,
          'CPU ms per task from /proc: postgres counts the server and all its backends; hosts count the host processes whole, the work on their threads included.',
          "every host has run a task before the clock starts (warm-up), and each round starts on a fresh database. The machine's cores are shared by the PostgreSQL server, the producer and the hosts' main threads besides the worker threads.",
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
