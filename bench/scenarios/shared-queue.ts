/**
 * The benchmarks of a queue on PostgreSQL that several hosts share. They start servers of
 * their own (PostgreSQL, redis-server) and run only when named: `npm run bench --
 * shared-queue` runs the three, or name one.
 */
import type { Scenario } from '../lib/scenario.js';
import { pgLatency } from './pg-latency.js';
import { pgScaling } from './pg-scaling.js';
import { pgThroughput } from './pg-throughput.js';

export const sharedQueue = {
  name: 'shared-queue',
  scenarios: [pgThroughput, pgScaling, pgLatency] as Scenario[],
};
