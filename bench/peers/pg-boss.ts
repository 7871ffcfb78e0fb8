/**
 * pg-boss on its own fresh database of the benchmark's PostgreSQL server, its workers in this
 * process. pg-boss 10.4.2: the newest release that runs on Node 20 (11 and later ask for 22).
 *
 * Settings, as pg-boss documents them for throughput: each work() call is one polling worker
 * that fetches `batchSize` jobs at a time and sleeps out its polling interval after a batch
 * that took less; so two workers (as offthread gets 2 threads), batches of BATCH, the shortest
 * polling interval it accepts (0.5 s), and notifyWorker() after every add so a worker wakes at
 * once instead of sleeping out the interval (pg-boss 10 has no LISTEN/NOTIFY; an app whose
 * producer runs in the worker's process can do the same). Handlers run on this main thread:
 * pg-boss has no worker threads, so CPU-bound work runs inline, one job after another.
 *
 * Done: pg-boss stores a result but has no call that waits for it, so a job counts as done
 * once its handler returned, and a round ends only once the database holds no job of the
 * queue still queued or active (pg-boss writes completions without waiting for them).
 */
import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { Completions } from '../lib/completions.js';
import type { Contender } from '../lib/contender.js';
import type { Database, PostgresServer } from '../lib/postgres-server.js';
import { eachAtOnce, type SubmitMode } from '../lib/submit-mode.js';
import { doWork, type Work } from '../lib/work.js';

const QUEUE = 'bench';
/**
 * Jobs a worker fetches at a time. A pg-boss worker sleeps out its polling interval after every
 * batch that took less, a full one too, unless notified: so not notified, two workers run at
 * most 2 x BATCH jobs per 0.5 s (a bulk round of 3000 no-ops waits out one interval).
 */
const BATCH = 1000;

export function pgBoss(server: () => PostgresServer, mode: SubmitMode): Contender {
  let db: Database;
  let boss: PgBoss;
  let workers: string[] = [];
  let completions: Completions;
  let error: Error | undefined;
  const wake = () => {
    for (const id of workers) boss.notifyWorker(id);
  };
  const one = async (work: Work) => {
    const id = await boss.send(QUEUE, { work });
    if (id === null) throw new Error('pg-boss did not create the job');
    wake();
    await completions.when(id);
  };
  /** Resolves once no job of the queue is still queued or active, i.e. all completions are written. */
  const settled = async () => {
    for (;;) {
      if (error) throw error;
      const { rows } = await boss.getDb().executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`, [QUEUE]);
      if ((rows[0] as { n: number }).n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  return {
    name: `pg-boss: ${mode === 'each' ? 'send each' : 'insert all'}`,
    async setup(threads) {
      db = await server().freshDatabase();
      completions = new Completions();
      // No cron (schedule: false): nothing here uses it, and its timekeeper polls the database.
      boss = new PgBoss({ connectionString: db.url, schedule: false });
      boss.on('error', (e: Error) => (error ??= e));
      await boss.start();
      await boss.createQueue(QUEUE);
      workers = [];
      for (let i = 0; i < threads; i++) {
        workers.push(
          await boss.work<{ work: Work }>(QUEUE, { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
            for (const job of jobs) {
              doWork(job.data.work);
              completions.done(job.id);
            }
          }),
        );
      }
      await eachAtOnce(threads * 4, () => one('noop')); // warm up: connections, prepared plans
      await settled();
    },
    async runMany(count, work) {
      if (mode === 'each') {
        await eachAtOnce(count, () => one(work));
      } else {
        const jobs = Array.from({ length: count }, () => ({ id: randomUUID(), name: QUEUE, data: { work } }));
        await boss.insert(jobs);
        wake();
        await Promise.all(jobs.map((job) => completions.when(job.id)));
      }
      await settled();
    },
    async runOne(work) {
      await one(work);
      await settled();
    },
    async teardown() {
      await boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
      await db?.drop();
    },
  };
}
