/**
 * graphile-worker on its own fresh database of the benchmark's PostgreSQL server, its runner
 * in this process. graphile-worker 0.17.3: the newest release that runs on Node 20 (0.18 asks
 * for 22).
 *
 * Settings: concurrency 2 (as offthread gets 2 threads), and the batching its performance
 * page uses for its own figures: a local queue of 500 jobs fetched (and locked) at a time,
 * completions and failures written in batches (delay 0). New jobs wake the runner through its
 * LISTEN/NOTIFY (on by default). NO_LOG_SUCCESS is set, as its docs advise for throughput,
 * and only warnings and errors are logged. Task functions run on this main thread: CPU-bound
 * work runs inline, so concurrency 2 cannot use a second core for it.
 *
 * Done: a finished job is deleted, its result kept nowhere, so a job counts as done once its
 * task function returned, and a round ends only once the jobs table is empty (completions are
 * written in batches, after the task function returned).
 */
import type { Runner, WorkerUtils } from 'graphile-worker';
import { Completions } from '../lib/completions.js';
import type { Contender } from '../lib/contender.js';
import type { Database, PostgresServer } from '../lib/postgres-server.js';
import { eachAtOnce, type SubmitMode } from '../lib/submit-mode.js';
import { doWork, type Work } from '../lib/work.js';

const TASK = 'bench';

export function graphileWorker(server: () => PostgresServer, mode: SubmitMode): Contender {
  let db: Database;
  let runner: Runner | undefined;
  let utils: WorkerUtils | undefined;
  let completions: Completions;
  const one = async (work: Work) => {
    const job = await utils!.addJob(TASK, { work });
    await completions.when(job.id);
  };
  /** Resolves once the jobs table is empty, i.e. every completion has been written. */
  const settled = async () => {
    for (;;) {
      const { rows } = await utils!.withPgClient((client) => client.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker._private_jobs'));
      if (rows[0]!.n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  return {
    name: `graphile-worker: ${mode === 'each' ? 'addJob each' : 'addJobs'}`,
    async setup(threads) {
      // Read when graphile-worker's modules load: set before the first import.
      process.env.NO_LOG_SUCCESS ??= '1';
      const { run, makeWorkerUtils, Logger } = await import('graphile-worker');
      db = await server().freshDatabase();
      completions = new Completions();
      const logger = new Logger(() => (level, message) => {
        if (String(level) === 'error' || String(level) === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
      });
      runner = await run({
        connectionString: db.url,
        concurrency: threads,
        noHandleSignals: true,
        logger,
        taskList: {
          [TASK]: (payload, helpers) => {
            doWork((payload as { work: Work }).work);
            completions.done(helpers.job.id);
          },
        },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
      runner.events.on('job:error', ({ job, error }) => completions.failed(job.id, error instanceof Error ? error : new Error(String(error))));
      utils = await makeWorkerUtils({ connectionString: db.url, logger });
      await eachAtOnce(threads * 4, () => one('noop')); // warm up: connections, prepared statements
      await settled();
    },
    async runMany(count, work) {
      if (mode === 'each') {
        await eachAtOnce(count, () => one(work));
      } else {
        const jobs = await utils!.addJobs(Array.from({ length: count }, () => ({ identifier: TASK, payload: { work } })));
        await Promise.all(jobs.map((job) => completions.when(job.id)));
      }
      await settled();
    },
    async runOne(work) {
      await one(work);
      await settled();
    },
    async teardown() {
      await runner?.stop();
      await utils?.release();
      runner = undefined;
      utils = undefined;
      await db?.drop();
    },
  };
}
