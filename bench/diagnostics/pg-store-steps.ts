/**
 * The PostgreSQL store's steps one at a time, on a server of its own: inserting tasks in
 * batches (with and without their `created` events), claiming them, finishing them. Prints
 * ms per step, to tell which one bounds the shared queue's throughput.
 *
 *   node dist/bench/diagnostics/pg-store-steps.js [count]
 */
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import type { NewTaskRecord, TaskPatch, WriteBatch } from '../../src/store/task-store.js';
import type { TaskEvent } from '../../src/types.js';
import { startPostgres } from '../lib/postgres-server.js';
import { noopRecord } from '../lib/task-records.js';

const count = Number(process.argv[2] ?? 10_000);
const server = await startPostgres();
const db = await server.freshDatabase();
const store = await PgTaskStore.open({ connectionString: db.url });

const batchOf = (inserts: NewTaskRecord[], events: TaskEvent[], patches = new Map<string, TaskPatch>()): WriteBatch => ({
  inserts,
  payloads: inserts.map(() => undefined),
  changes: inserts.map(() => undefined),
  patches,
  events,
});
const time = async (label: string, times: number, step: () => Promise<unknown>): Promise<void> => {
  const start = performance.now();
  for (let i = 0; i < times; i++) await step();
  console.log(`${label}: ${((performance.now() - start) / times).toFixed(2)} ms each`);
};

let seq = 0;
const SIZE = 1000;
await time(`insert ${SIZE} rows, no events`, count / SIZE / 2, () => store.commit(batchOf(Array.from({ length: SIZE }, () => noopRecord(++seq)), [])));
await time(`insert ${SIZE} rows with their created events`, count / SIZE / 2, () => {
  const inserts = Array.from({ length: SIZE }, () => noopRecord(++seq));
  const events = inserts.map((r): TaskEvent => ({ type: 'created', taskId: r.id, at: Date.now(), taskType: 'noop', priority: 'normal' }));
  return store.commit(batchOf(inserts, events));
});
const claimed: string[] = [];
await time('claim 128', count / 128 / 2, async () => {
  const now = Date.now();
  for (const task of await store.claim({ types: ['noop'], limit: 128, now, leaseUntil: now + 30_000 })) claimed.push(task.id);
});
await time('claim 512', count / 512 / 2, async () => {
  const now = Date.now();
  for (const task of await store.claim({ types: ['noop'], limit: 512, now, leaseUntil: now + 30_000 })) claimed.push(task.id);
});
await time('finish 128 with events', Math.floor(claimed.length / 128), () => {
  const at = Date.now();
  const patches = new Map<string, TaskPatch>();
  const events: TaskEvent[] = [];
  for (const id of claimed.splice(0, 128)) {
    patches.set(id, { status: 'completed', attempts: 1, startedAt: at, progress: 100, result: null, error: null, completedAt: at, updatedAt: at });
    events.push({ type: 'started', taskId: id, taskType: 'noop', at, attempt: 1 }, { type: 'completed', taskId: id, taskType: 'noop', at, result: undefined });
  }
  return store.commit(batchOf([], events, patches));
});
await store.close();
await db.drop();
await server.stop();
