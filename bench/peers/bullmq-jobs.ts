/**
 * BullMQ for the shared-queue throughput benchmark: the same queue, worker and redis-server
 * (its own, on a free port; skipped with the reason where redis-server is missing) as
 * bench/peers/bullmq.ts, but each job awaited by its id, so tasks can be added one call each
 * and awaited each on its own. Done: the Worker's own 'completed' event for that job id,
 * which fires in this process once the job has moved to the completed set in Redis.
 * In-process, the processor runs on this main thread; with worker threads, BullMQ runs the
 * processor file in up to `concurrency` threads of its own.
 */
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Completions } from '../lib/completions.js';
import type { Contender } from '../lib/contender.js';
import { eachAtOnce, type SubmitMode } from '../lib/submit-mode.js';
import { doWork, type Work } from '../lib/work.js';
import { startRedis } from './bullmq.js';

const PROCESSOR = fileURLToPath(new URL('../workers/bullmq-processor.js', import.meta.url));

export function bullmqJobs(mode: SubmitMode, { workerThreads = false } = {}): Contender {
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  let queue: Queue<Work> | undefined;
  let worker: Worker<Work> | undefined;
  let completions: Completions;
  const one = async (work: Work) => {
    const job = await queue!.add('w', work);
    await completions.when(job.id!);
  };

  return {
    name: `bullmq ${workerThreads ? 'worker threads' : 'in-process'}: ${mode === 'each' ? 'add each' : 'addBulk'}`,
    async setup(threads) {
      server = await startRedis(false);
      completions = new Completions();
      const connection = { host: '127.0.0.1', port: server.port };
      queue = new Queue<Work>('bench', { connection });
      const processor = workerThreads ? PROCESSOR : async (job: { data: Work }) => doWork(job.data);
      worker = new Worker<Work>('bench', processor, { connection, concurrency: threads, useWorkerThreads: workerThreads });
      worker.on('completed', (job) => completions.done(job.id!));
      worker.on('failed', (job, error) => job && completions.failed(job.id!, error));
      await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
      await eachAtOnce(threads * 4, () => one('noop')); // warm up: connections, Lua scripts, threads
    },
    async runMany(count, work) {
      if (mode === 'each') return eachAtOnce(count, () => one(work));
      const jobs = await queue!.addBulk(Array.from({ length: count }, () => ({ name: 'w', data: work })));
      await Promise.all(jobs.map((job) => completions.when(job.id!)));
    },
    runOne: one,
    async teardown() {
      await worker?.close();
      await queue?.close();
      await server?.stop();
    },
  };
}
