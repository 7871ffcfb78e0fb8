import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { WriteBatch } from '../../src/store/task-store.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import { record } from './conformance.js';

/** A real in-memory store whose commits are counted (rows inserted and rows updated, in order). */
function countedStore(): { store: SqliteTaskStore; commits: number[]; updates: number[] } {
  const store = SqliteTaskStore.open(':memory:');
  const commits: number[] = [];
  const updates: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (batch: WriteBatch) => {
    await commit(batch);
    commits.push(batch.inserts.length);
    updates.push(batch.patches.size);
  };
  return { store, commits, updates };
}

const opened: SqliteTaskStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

describe('WriteBatcher', () => {
  it('cuts a burst of separate inserts into transactions of 1000, each acknowledging its own', async () => {
    const { store, commits } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, (error) => {
      throw error;
    });
    const acked: number[] = [];
    const acks: Promise<void>[] = [];
    for (let seq = 1; seq <= 2500; seq++) {
      writer.insert(record(seq));
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
    const writer = new WriteBatcher(store, (error) => {
      throw error;
    });
    const slot = writer.insert(record(1));
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

  it("drops a row's payload and early changes once it is written: the record may be a task that stays queued", async () => {
    const { store } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, (error) => {
      throw error;
    });
    const row = record(1, { payload: { big: 'x'.repeat(100) } });
    const slot = writer.insert(row);
    writer.patch('t1', { status: 'running', attempts: 1, startedAt: 1500, updatedAt: 1500 }, slot);
    expect(row.changes).toBeDefined();
    await writer.flush();
    expect(row.storedPayload).toBeUndefined();
    expect(row.changes).toBeUndefined();
    expect(await store.get('t1')).toMatchObject({ status: 'running', payload: { big: 'x'.repeat(100) }, startedAt: 1500 });
  });

  it('keeps everything written while held in one transaction, acknowledged after the release', async () => {
    const { store, commits } = countedStore();
    opened.push(store);
    const writer = new WriteBatcher(store, (error) => {
      throw error;
    });
    const release = writer.hold();
    for (let seq = 1; seq <= 2500; seq++) writer.insert(record(seq));
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
});
