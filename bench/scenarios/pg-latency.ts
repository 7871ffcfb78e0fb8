/**
 * pg-latency: how soon an idle host of a queue on PostgreSQL starts a task submitted by
 * another process. A producer-only runtime here submits `stamp` tasks one at a time, each
 * after the last one's result and a pause (so the host is idle, waiting to be told of work);
 * a forked host process with 1 thread runs them. Per task: submit call -> the handler began
 * (the time it stamps, read on the same machine clock), submit -> the `started` event seen
 * by the producer, submit -> the result in the producer's hands. The same with the host
 * in the producer's process is there to compare with.
 */
import { performance } from 'node:perf_hooks';
import { eventWaiter } from '../lib/events.js';
import { startPostgres, type PostgresServer } from '../lib/postgres-server.js';
import { resultsOf } from '../lib/remote-results.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { percentile } from '../lib/stats.js';
import type { Contender } from '../lib/contender.js';
import { openSharedQueue, type QueueShape, type SharedQueue } from '../offthread-hosts.js';

/** Between two tasks: long enough that the host has gone back to waiting for work. */
const PAUSE_MS = 20;
/** How long after the result a `started` event may still come before it counts as missing. */
const STARTED_GRACE_MS = 1_000;

interface Probe extends Contender {
  /** Runs `count` stamp tasks one at a time; milliseconds per task, and how many `started` never came. */
  probe(count: number): Promise<{ start: number[]; seen: number[]; result: number[]; missing: number }>;
}

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function latencyProbe(server: () => PostgresServer, name: string, shape: QueueShape): Probe {
  let queue: SharedQueue | undefined;
  const probe: Probe['probe'] = async (count) => {
    const producer = queue!.producer;
    const waiter = eventWaiter(producer, ['started']);
    const out = { start: [] as number[], seen: [] as number[], result: [] as number[], missing: 0 };
    try {
      for (let i = 0; i < count; i++) {
        await sleep(PAUSE_MS);
        const submittedWall = wallNow();
        const submitted = performance.now();
        const handle = await producer.submit('stamp');
        let seenAt: number | undefined;
        void waiter.when(handle.id, 'started').then((at) => (seenAt = at));
        const [stamp] = await resultsOf<{ at: number }>(producer, [handle]);
        out.result.push(performance.now() - submitted);
        out.start.push(stamp!.at - submittedWall);
        const deadline = performance.now() + STARTED_GRACE_MS;
        while (seenAt === undefined && performance.now() < deadline) await sleep(5);
        if (seenAt === undefined) out.missing++;
        else out.seen.push(seenAt - submitted);
      }
    } finally {
      waiter.stop();
    }
    return out;
  };
  return {
    name,
    async setup() {
      queue = await openSharedQueue(server(), shape);
    },
    runMany: () => Promise.reject(new Error('not used')),
    runOne: async () => void (await probe(1)),
    probe,
    async teardown() {
      await queue?.close();
      queue = undefined;
    },
  };
}

export const pgLatency: Scenario = {
  name: 'pg-latency',
  summary: 'submit -> start on an idle host in another process, on PostgreSQL: p50/p95 ms',
  async run(ctx) {
    const count = ctx.quick ? 50 : 200;
    const warmup = 20;
    let server: PostgresServer | undefined;
    const get = () => server!;
    const factories = [
      () => latencyProbe(get, 'offthread postgres: producer + 1 host process', { hosts: 1, threadsEach: 1 }),
      () => latencyProbe(get, 'offthread postgres: host in the producer\'s process', { hosts: 0, threadsEach: 1, producerThreads: 1 }),
    ];
    const missing = new Map<string, number>();

    server = await startPostgres();
    try {
      const rr = await roundRobin(ctx, 'pg-latency', factories, async (c, add) => {
        const p = c as Probe;
        await p.probe(warmup);
        const r = await p.probe(count);
        for (const key of ['start', 'seen', 'result'] as const) {
          const sorted = [...r[key]].sort((a, b) => a - b);
          if (sorted.length === 0) continue;
          add(`${key}50`, percentile(sorted, 50));
          add(`${key}95`, percentile(sorted, 95));
        }
        missing.set(c.name, (missing.get(c.name) ?? 0) + r.missing);
        return `start p50 ${percentile([...r.start].sort((a, b) => a - b), 50).toFixed(2)} ms`;
      });
      const names = factories.map((f) => f().name);
      const notes = [
        `one task at a time, each submitted ${PAUSE_MS} ms after the last one's result; ${warmup} more before each round's ${count}, not counted. A fresh database and host process per round.`,
        'start: the handler\'s own clock reading (performance.timeOrigin + now(), the machine\'s wall clock to the microsecond) minus the producer\'s, read the same way just before submit(): the two processes share the clock.',
        "seen: submit() called -> the producer's events$ emitted `started`; result: submit() called -> result() resolved in the producer.",
      ];
      for (const [name, n] of missing) if (n > 0) notes.push(`${name}: \`started\` did not reach the producer for ${n} tasks (within ${STARTED_GRACE_MS} ms of the result).`);
      return {
        scenario: 'pg-latency',
        title: `${count} stamp tasks one at a time on an idle host, one queue of PostgreSQL 18, ${ctx.rounds} rounds; milliseconds`,
        columns: [
          { key: 'start50', label: 'start p50', digits: 2 },
          { key: 'start95', label: 'start p95', digits: 2 },
          { key: 'seen50', label: 'started seen p50', digits: 2 },
          { key: 'seen95', label: 'started seen p95', digits: 2 },
          { key: 'result50', label: 'result p50', digits: 2 },
          { key: 'result95', label: 'result p95', digits: 2 },
        ],
        rows: toRows(rr, names),
        notes,
      };
    } finally {
      await server.stop();
    }
  },
};
