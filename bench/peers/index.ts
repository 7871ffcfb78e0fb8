/** The peer contenders, one factory each: thread pools for the pool scenarios, BullMQ for durable jobs/s. */
import type { Contender } from '../lib/contender.js';
import { bullmq } from './bullmq.js';
import { poolifier } from './poolifier.js';
import { tinypool } from './tinypool.js';
import { workerpoolPeer } from './workerpool.js';

/** Plain thread pools, like raw Piscina: no durability. */
export const poolPeers: Array<() => Contender> = [tinypool, poolifier, workerpoolPeer];

/** Durable queues (BullMQ on its own redis-server): compare with offthread's file store. */
export const durablePeers: Array<() => Contender> = [() => bullmq(), () => bullmq({ workerThreads: true })];

export const peers: Array<() => Contender> = [...poolPeers, ...durablePeers];
