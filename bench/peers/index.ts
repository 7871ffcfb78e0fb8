/** The peer contenders, one factory each: thread pools for the pool scenarios, BullMQ for durable jobs/s. */
import type { Contender } from '../lib/contender.js';
import type { PostgresServer } from '../lib/postgres-server.js';
import type { SubmitMode } from '../lib/submit-mode.js';
import { bullmq } from './bullmq.js';
import { bullmqJobs } from './bullmq-jobs.js';
import { graphileWorker } from './graphile-worker.js';
import { pgBoss } from './pg-boss.js';
import { poolifier } from './poolifier.js';
import { tinypool } from './tinypool.js';
import { workerpoolPeer } from './workerpool.js';

/** Plain thread pools, like raw Piscina: no durability. */
export const poolPeers: Array<() => Contender> = [tinypool, poolifier, workerpoolPeer];

/** Durable queues (BullMQ on its own redis-server): compare with offthread's file store. */
export const durablePeers: Array<() => Contender> = [() => bullmq(), () => bullmq({ workerThreads: true })];

export const peers: Array<() => Contender> = [...poolPeers, ...durablePeers];

/**
 * Durable queues for the benchmarks on a shared queue: pg-boss and graphile-worker, each on a
 * fresh database of the run's PostgreSQL server, and BullMQ on its own redis-server, each
 * submitting one add call per task and all in one bulk call.
 */
export function sharedQueuePeers(server: () => PostgresServer): Array<{ make: () => Contender; mode: SubmitMode }> {
  const modes: SubmitMode[] = ['each', 'bulk'];
  return [
    ...modes.map((mode) => ({ make: () => pgBoss(server, mode), mode })),
    ...modes.map((mode) => ({ make: () => graphileWorker(server, mode), mode })),
    ...modes.map((mode) => ({ make: () => bullmqJobs(mode), mode })),
    ...modes.map((mode) => ({ make: () => bullmqJobs(mode, { workerThreads: true }), mode })),
  ];
}
