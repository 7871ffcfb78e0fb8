/**
 * Groups on a PostgreSQL queue, on a server of its own: what a claim costs with 100,000
 * queued rows and no groups, the same rows in 1,000 groups, and those groups under a cap
 * (the default `{ concurrency: 2 }`, so every claim counts and locks); what an insert of
 * 1,000 rows costs each way; and fairness across two hosts: 10,000 tasks of a big group,
 * then 10 of a small one, run by two runtimes of one thread each, and how many of the big
 * group's tasks began before the small group's last; and four hosts submitting small
 * batches at once (they share the counter of the tasks without a group). The table is analyzed after it is
 * filled, as autovacuum soon would be: right after a bulk load the planner's estimates are stale.
 *
 * Type rates: the claim of a host with a rated type (a transaction that counts it) against
 * the one statement, with the rated type's rows absent, half the queue, or all of it
 * (`{ count: 1000, perMs: 60_000 }`: every claim counts and locks, and the window fills at the
 * 1000th start); and the precision across three hosts of two threads: 3,000 tasks of a type
 * limited to 20 starts per 100 ms, the most stored starts in any 100 ms window.
 *
 *   node dist/bench/diagnostics/pg-group-claims.js [rows] [groups]
 */
import pg from 'pg';
import { TaskRuntime } from 'offthread';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import type { TypeRate } from '../../src/store/task-claims.js';
import type { NewTaskRecord, TaskPatch, WriteBatch } from '../../src/store/task-store.js';
import { startPostgres, type PostgresServer } from '../lib/postgres-server.js';
import { noopRecord } from '../lib/task-records.js';

const rows = Number(process.argv[2] ?? 100_000);
const groups = Number(process.argv[3] ?? 1_000);
const BATCH = 1000;
const CLAIM = 128;
const CLAIMS = 40;

const batchOf = (inserts: NewTaskRecord[], patches = new Map<string, TaskPatch>()): WriteBatch => ({
  inserts,
  payloads: inserts.map(() => undefined),
  changes: inserts.map(() => undefined),
  patches,
  events: [],
});
const ms = (start: number, times: number): string => ((performance.now() - start) / times).toFixed(2);

/**
 * Fills a queue, then claims CLAIM rows CLAIMS times, each claim's rows finished before the
 * next (so a capped group's room comes back, as it would as tasks end).
 */
async function scenario(
  server: PostgresServer,
  label: string,
  groupOf: (i: number) => string | null,
  limited: boolean,
  typeOf: (i: number) => string = () => 'noop',
  rates: TypeRate[] = [],
): Promise<void> {
  const db = await server.freshDatabase();
  const store = await PgTaskStore.open({ connectionString: db.url });
  if (limited) await store.setGroupLimits([{ group: null, limits: { concurrency: 2 } }]);
  let seq = 0;
  let insertMs = 0;
  for (let done = 0; done < rows; done += BATCH) {
    const inserts = Array.from({ length: Math.min(BATCH, rows - done) }, () => ({ ...noopRecord(++seq, groupOf(seq)), type: typeOf(seq) }));
    const start = performance.now();
    await store.commit(batchOf(inserts));
    insertMs += performance.now() - start;
  }
  // As autovacuum would soon: right after a bulk load the planner's estimates are stale.
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query('ANALYZE offthread.tasks');
  await admin.end();
  let claimMs = 0;
  let claimed = 0;
  for (let i = 0; i < CLAIMS; i++) {
    const now = Date.now();
    const start = performance.now();
    const tasks = await store.claim({ types: ['noop', 'paced'], limit: CLAIM, now, leaseUntil: now + 60_000, rates });
    claimMs += performance.now() - start;
    claimed += tasks.length;
    const at = Date.now();
    const patches = new Map<string, TaskPatch>(
      tasks.map((task) => [task.id, { status: 'completed', attempts: 1, startedAt: at, progress: 100, result: null, error: null, completedAt: at, updatedAt: at }]),
    );
    await store.commit(batchOf([], patches));
  }
  console.log(
    `${label}: insert ${BATCH} rows ${(insertMs / (rows / BATCH)).toFixed(2)} ms; claim ${CLAIM} of ${rows} queued ${(claimMs / CLAIMS).toFixed(2)} ms (${(claimed / CLAIMS).toFixed(0)} rows a claim)`,
  );
  await store.close();
  await db.drop();
}

/** Big then small, queued before either host runs; the begin times come from the handlers. */
async function fairness(server: PostgresServer, threads: number): Promise<void> {
  const db = await server.freshDatabase();
  const handlers = new URL('../workers/shared-queue-handlers.js', import.meta.url);
  const producer = await TaskRuntime.open({ handlers, database: db.url, concurrency: 0 });
  const big = await producer.submitMany(Array.from({ length: 10_000 }, () => ({ type: 'stamp', options: { group: 'big' } })));
  const small = await producer.submitMany(Array.from({ length: 10 }, () => ({ type: 'stamp', options: { group: 'small' } })));
  const start = performance.now();
  const hosts = [
    await TaskRuntime.open({ handlers, database: db.url, concurrency: threads }),
    await TaskRuntime.open({ handlers, database: db.url, concurrency: threads }),
  ];
  const began = async (handle: (typeof big)[number]): Promise<number> => ((await handle.result()) as { at: number }).at;
  const smallAt = await Promise.all(small.map(began));
  const bigAt = await Promise.all(big.map(began));
  const lastSmall = Math.max(...smallAt);
  const before = bigAt.filter((at) => at < lastSmall).length;
  console.log(
    `fairness, two hosts of ${threads} thread(s): the small group's last task began after ${before} of the big group's 10,000 (${Math.round((performance.now() - start) / 1000)} s for all)`,
  );
  for (const host of hosts) await host.close();
  await producer.close();
  await db.drop();
}

/**
 * Three hosts of two threads run 3,000 tasks of a type limited to 20 starts per 100 ms: the
 * most stored starts in any window of 100 ms (the limit: 20), and the rate reached against
 * the 200 a second it allows.
 */
async function typeRatePrecision(server: PostgresServer): Promise<void> {
  const db = await server.freshDatabase();
  const handlers = new URL('../workers/type-rate-handlers.js', import.meta.url);
  const TASKS = 3000;
  const PER_MS = 100;
  const producer = await TaskRuntime.open({ handlers, database: db.url, concurrency: 0 });
  const handles = await producer.submitMany(Array.from({ length: TASKS }, () => ({ type: 'paced' })));
  const hosts = await Promise.all([1, 2, 3].map(() => TaskRuntime.open({ handlers, database: db.url, concurrency: 2 })));
  await Promise.all(handles.map((handle) => handle.result()));
  const starts = (await Promise.all(handles.map(async (handle) => (await producer.get(handle.id))!.startedAt!))).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= PER_MS) j++;
    most = Math.max(most, i - j + 1);
  }
  const seconds = (starts[starts.length - 1]! - starts[0]!) / 1000;
  console.log(
    `type rate 20 per ${PER_MS} ms, three hosts of two threads, ${TASKS} tasks: most stored starts in any ${PER_MS} ms window ${most}; ${Math.round(TASKS / seconds)} starts/s (the rate allows 200)`,
  );
  for (const host of hosts) await host.close();
  await producer.close();
  await db.drop();
}

/**
 * Four stores (hosts) submitting small batches without groups at once: they take turns from
 * one counter, so this is where taking them costs most.
 */
async function concurrentSubmits(server: PostgresServer): Promise<void> {
  const db = await server.freshDatabase();
  const stores = await Promise.all([1, 2, 3, 4].map(() => PgTaskStore.open({ connectionString: db.url })));
  const BATCHES = 300;
  const SIZE = 10;
  let seq = 0;
  const start = performance.now();
  await Promise.all(
    stores.map(async (store) => {
      for (let b = 0; b < BATCHES; b++) await store.commit(batchOf(Array.from({ length: SIZE }, () => noopRecord(++seq, null))));
    }),
  );
  const s = (performance.now() - start) / 1000;
  console.log(`four hosts submitting ${BATCHES} batches of ${SIZE} each at once, no groups: ${Math.round((stores.length * BATCHES) / s)} commits/s`);
  for (const store of stores) await store.close();
  await db.drop();
}

const server = await startPostgres();
await concurrentSubmits(server);
await scenario(server, 'no groups', () => null, false);
await scenario(server, `${groups} groups`, (i) => `g${i % groups}`, false);
await scenario(server, `${groups} groups, each capped at 2`, (i) => `g${i % groups}`, true);
await scenario(server, 'one group capped at 2 holding half the rows, the rest without a group', (i) => (i % 2 === 0 ? 'capped' : null), true);
const rated: TypeRate[] = [{ type: 'paced', count: 1000, perMs: 60_000 }];
await scenario(server, 'no groups, the host has a rated type with no rows', () => null, false, () => 'noop', rated);
await scenario(server, 'no groups, half the rows of a rated type', () => null, false, (i) => (i % 2 === 0 ? 'paced' : 'noop'), rated);
await scenario(server, 'no groups, every row of a rated type', () => null, false, () => 'paced', rated);
await typeRatePrecision(server);
await fairness(server, 1);
await fairness(server, 2);
await server.stop();
