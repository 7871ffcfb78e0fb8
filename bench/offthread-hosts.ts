/**
 * offthread on one queue of PostgreSQL shared by several host processes: a fresh database,
 * `hosts` forked host processes of `threadsEach` threads each, and this process's own runtime
 * on the same queue to submit and await, producer-only by default (concurrency 0).
 */
import type { TaskRuntime } from 'offthread';
import { startHost, type HostProcess } from './lib/host-process.js';
import { resultsOf } from './lib/remote-results.js';
import type { Database, PostgresServer } from './lib/postgres-server.js';
import { openOnPostgres, SHARED_HANDLERS } from './offthread-postgres.js';

export interface SharedQueue {
  readonly producer: TaskRuntime;
  readonly hosts: readonly HostProcess[];
  close(): Promise<void>;
}

export interface QueueShape {
  hosts: number;
  threadsEach: number;
  /** This process's own threads on the queue. @default 0 (it only submits) */
  producerThreads?: number;
}

export async function openSharedQueue(server: PostgresServer, shape: QueueShape): Promise<SharedQueue> {
  const db: Database = await server.freshDatabase();
  let producer: TaskRuntime | undefined;
  const hosts: HostProcess[] = [];
  const close = async () => {
    // Hosts first, so none is left holding a lease on a database about to be dropped.
    await Promise.allSettled(hosts.map((host) => host.stop()));
    await producer?.close();
    await db.drop();
  };
  try {
    // Opened first: it migrates the new database, so the hosts do not all wait on that lock.
    producer = await openOnPostgres({ handlers: SHARED_HANDLERS, database: db.url, concurrency: shape.producerThreads ?? 0 });
    hosts.push(...(await Promise.all(Array.from({ length: shape.hosts }, () => startHost(db.url, shape.threadsEach)))));
    await warmUp(producer, shape);
    return { producer, hosts, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs waves of `stamp` and CPU-bound `timedWork` tasks until every process that runs tasks
 * has run a stamp (its threads started, the handlers module loaded, and most likely the
 * CPU-bound type's length learnt), so no measurement pays for a cold host.
 */
async function warmUp(producer: TaskRuntime, shape: QueueShape): Promise<void> {
  const runners = shape.hosts + ((shape.producerThreads ?? 0) > 0 ? 1 : 0);
  const wave = Math.max(1, runners * Math.max(shape.threadsEach, shape.producerThreads ?? 0) * 4);
  const items = [...Array.from({ length: wave }, () => ({ type: 'stamp' })), ...Array.from({ length: wave }, () => ({ type: 'timedWork', payload: 'cpu' }))];
  const seen = new Set<number>();
  for (let i = 0; i < 50 && seen.size < runners; i++) {
    const results = await resultsOf<{ pid: number } | number>(producer, await producer.submitMany(items));
    for (const result of results) if (typeof result === 'object') seen.add(result.pid);
  }
  if (seen.size < runners) throw new Error(`only ${seen.size} of ${runners} hosts ran a task in 50 waves of ${wave}`);
}
