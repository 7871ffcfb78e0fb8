/**
 * The contenders each scenario can run: raw Piscina (the baseline), offthread in its
 * variants, and the peers from bench/peers/index.ts (thread pools for the pool scenarios,
 * durable queues such as BullMQ where durable jobs/s are compared). Everything is a
 * factory, so a scenario makes a fresh contender per round and a missing peer only ever
 * fails its own row.
 */
import { offthread, rawPiscina } from './contenders.js';
import type { Contender } from './lib/contender.js';
import type { PostgresServer } from './lib/postgres-server.js';
import type { SubmitMode } from './lib/submit-mode.js';
import { offthreadPostgres } from './offthread-postgres.js';
import { durablePeers, poolPeers, sharedQueuePeers } from './peers/index.js';

export type Factory = () => Contender;

export const BASELINE = 'raw piscina';

export const peers = {
  /** tinypool, poolifier, workerpool: plain pools, like raw Piscina. */
  pools: (): Factory[] => [...poolPeers],
  /** BullMQ and the like: durable, compared with offthread's file store. */
  durable: (): Factory[] => [...durablePeers],
};

/**
 * The shared-queue throughput lineup on one PostgreSQL server: offthread on it, then the
 * peers (pg-boss, graphile-worker, BullMQ), each in both submit modes; raw Piscina runs beside
 * them as the denominator, its tasks submitted and awaited each on their own.
 */
export function sharedQueueLineup(server: () => PostgresServer): Array<{ make: Factory; mode: SubmitMode }> {
  return [
    { make: rawPiscina, mode: 'each' },
    { make: () => offthreadPostgres(server, 'each'), mode: 'each' },
    { make: () => offthreadPostgres(server, 'bulk'), mode: 'bulk' },
    ...sharedQueuePeers(server),
  ];
}

export const variants = {
  raw: rawPiscina,
  memory: () => offthread('memory', 'submit'),
  memoryMany: () => offthread('memory', 'submitMany'),
  file: () => offthread('file', 'submit'),
  fileMany: () => offthread('file', 'submitMany'),
  /** Each task's `result()` awaited, as most apps do, instead of `whenIdle()`. */
  memoryResults: () => offthread('memory', 'submit', undefined, true),
  memoryManyResults: () => offthread('memory', 'submitMany', undefined, true),
  fileResults: () => offthread('file', 'submit', undefined, true),
  fileManyResults: () => offthread('file', 'submitMany', undefined, true),
  /** Tasks that are not stored (the runtime's default `durable: false`), every result awaited. */
  unstoredResults: () => offthread('memory', 'submit', undefined, true, false),
  unstoredManyResults: () => offthread('memory', 'submitMany', undefined, true, false),
} satisfies Record<string, Factory>;

/** Whether a row is one of offthread's (goals apply to those). */
export const isOffthread = (name: string) => name.startsWith('offthread');
export const isFile = (name: string) => name.startsWith('offthread file');
