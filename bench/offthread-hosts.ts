/**
 * offthread on one queue of PostgreSQL shared by several host processes: a fresh database,
 * `hosts` forked host processes of `threadsEach` threads each, and this process's own runtime
 * on the same queue to submit and await, producer-only by default (concurrency 0).
 */
import type { TaskRuntime } from 'offthread';
import type { Contender } from './lib/contender.js';
import { startHost, type HostProcess } from './lib/host-process.js';
import { resultsOf } from './lib/remote-results.js';
import type { Database, PostgresServer } from './lib/postgres-server.js';
import type { Work } from './lib/work.js';
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
 * Runs `stamp` tasks until every process that runs tasks has run one (its threads started, the
 * handlers module loaded), so no measurement pays for a cold host.
 */
async function warmUp(producer: TaskRuntime, shape: QueueShape): Promise<void> {
  const runners = shape.hosts + ((shape.producerThreads ?? 0) > 0 ? 1 : 0);
  const wave = Math.max(1, runners * Math.max(shape.threadsEach, shape.producerThreads ?? 0) * 4);
  const seen = new Set<number>();
  for (let i = 0; i < 50 && seen.size < runners; i++) {
    const handles = await producer.submitMany(Array.from({ length: wave }, () => ({ type: 'stamp' })));
    for (const { pid } of await resultsOf<{ pid: number }>(producer, handles)) seen.add(pid);
  }
  if (seen.size < runners) throw new Error(`only ${seen.size} of ${runners} hosts ran a task in 50 waves of ${wave}`);
}

const item = (work: Work) => (work === 'noop' ? { type: 'noop' } : { type: 'work', payload: work });

/** A contender that submits from a producer-only runtime and lets the host processes run the tasks. */
export function offthreadHosts(server: () => PostgresServer, shape: QueueShape): Contender {
  let queue: SharedQueue | undefined;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return {
    name: `offthread postgres: ${plural(shape.hosts, 'host')} x ${plural(shape.threadsEach, 'thread')}`,
    async setup() {
      queue = await openSharedQueue(server(), shape);
    },
    async runMany(count, work) {
      const handles = await queue!.producer.submitMany(Array.from({ length: count }, () => item(work)));
      await resultsOf(queue!.producer, handles);
    },
    async runOne(work) {
      const { type, payload } = item(work);
      await resultsOf(queue!.producer, [await queue!.producer.submit(type, payload)]);
    },
    async teardown() {
      await queue?.close();
      queue = undefined;
    },
  };
}
