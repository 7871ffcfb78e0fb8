import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { NewTaskRecord, WriteBatch } from '../../src/store/task-store.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import { record, type NewRow } from './conformance.js';

/** A real in-memory store whose commits are counted (rows inserted and rows updated, in order) and kept. */
function countedStore(): { store: SqliteTaskStore; commits: number[]; updates: number[]; batches: WriteBatch[] } {
  const store = SqliteTaskStore.open(':memory:');
  const commits: number[] = [];
  const updates: number[] = [];
  const batches: WriteBatch[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (batch: WriteBatch) => {
    await commit(batch);
    commits.push(batch.inserts.length);
    updates.push(batch.patches.size);
    batches.push(batch);
  };
  return { store, commits, updates, batches };
}

/**
 * Queues a row as the engine does: the record (frozen, so a write into it would throw) with
 * its payload beside it. Returns the record and the slot.
 */
function insert(writer: WriteBatcher, row: NewRow): { task: NewTaskRecord; slot: number } {
  const { payload, changes: _changes, ...identity } = row;
  const task = Object.freeze(identity);
  return { task, slot: writer.insert(task, payload) };
}

const opened: SqliteTaskStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

describe('WriteBatcher', () => {
  it('cuts a burst of separate inserts into transactions of 1000, each acknowledging its own', async () => {
    const { store, commits } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, {
      onFailing: (error) => {
        throw error;
      },
    });
    const acked: number[] = [];
    const acks: Promise<void>[] = [];
    for (let seq = 1; seq <= 2500; seq++) {
      insert(writer, record(seq));
      // What the first commit had written when each of these was acknowledged.
      if (seq === 1 || seq === 1000 || seq === 1001 || seq === 2500) acks.push(writer.ack().then(() => void acked.push(commits.length)));
    }
    await Promise.all(acks);
    expect(commits).toEqual([1000, 1000, 500]);
    // Rows 1 and 1000 were acknowledged once the first transaction was in, before the others.
    expect(acked).toEqual([1, 1, 2, 3]);
    expect((await store.stats()).total).toBe(2500);
  });

  it('merges a change into a row still waiting to be written, and updates a row already taken', async () => {
    const { store, commits, updates } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, {
      onFailing: (error) => {
        throw error;
      },
    });
    const { slot } = insert(writer, record(1));
    writer.patch('t1', { status: 'running', attempts: 1, startedAt: 1500, updatedAt: 1500 }, slot);
    writer.patch('t1', { status: 'completed', completedAt: 1600, updatedAt: 1600 }, slot);
    let committed = writer.flush();
    // The same slot once its batch is taken: an UPDATE in the next batch.
    writer.patch('t1', { progressMessage: 'later', updatedAt: 1700 }, slot);
    await committed;
    committed = writer.flush();
    await committed;
    expect(commits).toEqual([1, 0]);
    expect(updates).toEqual([0, 1]); // the first two changes rode with the insert
    expect(await store.get('t1')).toMatchObject({ status: 'completed', attempts: 1, startedAt: 1500, completedAt: 1600, progressMessage: 'later', updatedAt: 1700 });
  });

  it('keeps a row\'s payload and early changes beside its record, never in it: the record may be a task that stays queued', async () => {
    const { store, batches } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, {
      onFailing: (error) => {
        throw error;
      },
    });
    const payload = { big: 'x'.repeat(100) };
    const { task, slot } = insert(writer, record(1, { payload }));
    const keys = Object.keys(task);
    const early = { status: 'running' as const, attempts: 1, startedAt: 1500, updatedAt: 1500 };
    writer.patch('t1', early, slot);
    await writer.flush();
    // Frozen, the record would have thrown at any write; it holds nothing of the payload or the changes.
    expect(Object.keys(task)).toEqual(keys);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.inserts[0]).toBe(task);
    expect(batches[0]!.payloads[0]).toBe(payload);
    expect(batches[0]!.changes[0]).toEqual(early);
    expect(await store.get('t1')).toMatchObject({ status: 'running', payload: { big: 'x'.repeat(100) }, startedAt: 1500 });
  });

  it('keeps payloads and early changes in step with their rows', async () => {
    const { store, batches } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, {
      onFailing: (error) => {
        throw error;
      },
    });
    const slots = [1, 2, 3, 4].map((seq) => insert(writer, record(seq, { payload: `p${seq}` })).slot);
    writer.patch('t3', { status: 'running', attempts: 1, startedAt: 1500, updatedAt: 1500 }, slots[2]);
    writer.patch('t3', { progress: 50, updatedAt: 1600 }, slots[2]);
    writer.patch('t1', { priority: 'high', updatedAt: 1700 }, slots[0]);
    await writer.flush();
    const [batch] = batches;
    expect(batch!.inserts.map((r) => r.id)).toEqual(['t1', 't2', 't3', 't4']);
    expect(batch!.payloads).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(batch!.changes).toEqual([
      { priority: 'high', updatedAt: 1700 },
      undefined,
      { status: 'running', attempts: 1, startedAt: 1500, progress: 50, updatedAt: 1600 },
      undefined,
    ]);
    expect(batch!.patches.size).toBe(0);
    expect(await store.get('t1')).toMatchObject({ status: 'queued', priority: 'high', payload: 'p1', updatedAt: 1700 });
    expect(await store.get('t2')).toMatchObject({ status: 'queued', priority: 'normal', payload: 'p2', updatedAt: 1002 });
    expect(await store.get('t3')).toMatchObject({ status: 'running', progress: 50, payload: 'p3', startedAt: 1500, updatedAt: 1600 });
    expect(await store.get('t4')).toMatchObject({ status: 'queued', payload: 'p4', startedAt: null });
  });

  it('keeps everything written while held in one transaction, acknowledged after the release', async () => {
    const { store, commits } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, {
      onFailing: (error) => {
        throw error;
      },
    });
    const release = writer.hold();
    for (let seq = 1; seq <= 2500; seq++) insert(writer, record(seq));
    let acknowledged = false;
    const ack = writer.ack().then(() => (acknowledged = true));
    // Turns pass; nothing is committed while held.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(commits).toEqual([]);
    expect(acknowledged).toBe(false);
    release();
    await ack;
    expect(commits).toEqual([2500]);
  });

  it('keeps a batch the disk refused, rows and changes, acks waiting; refuses new work meanwhile; writes it all once the disk takes it', async () => {
    const store = SqliteTaskStore.open(':memory:');
    opened.push(store);
    const commit = store.commit.bind(store);
    // The disk refuses until the test lets it take writes again.
    let full = true;
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => (refused = resolve));
    store.commit = async (batch: WriteBatch) => {
      if (full) {
        refused();
        throw Object.assign(new Error('disk full'), { code: 'ERR_STORE_FULL' });
      }
      await commit(batch);
    };
    let told = 0;
    let recovered = 0;
    const writer = new WriteBatcher(store, {
      onFailing: () => void told++,
      onRecovered: () => void recovered++,
      keepable: (error) => (error as { code?: unknown }).code === 'ERR_STORE_FULL',
    });
    insert(writer, record(1));
    let acked = false;
    const ack = writer.ack().then(() => (acked = true));
    await firstRefusal;
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.refusal).toMatchObject({ code: 'ERR_STORE_FULL' });
    expect(acked).toBe(false);
    // A change to the kept row, made while it waits, goes with it.
    writer.patch('t1', { status: 'running', attempts: 1, startedAt: 2000, updatedAt: 2000 });
    full = false;
    await ack;
    await writer.flush();
    expect(await store.get('t1')).toMatchObject({ status: 'running', attempts: 1 });
    expect(writer.refusal).toBeUndefined();
    expect([told, recovered]).toEqual([1, 1]);
  });
});
