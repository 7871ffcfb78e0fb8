import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { WriteBatch } from '../../src/store/task-store.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import { record } from './conformance.js';

/** A real in-memory store whose commits are counted (sizes, in order). */
function countedStore(): { store: SqliteTaskStore; commits: number[] } {
  const store = SqliteTaskStore.open(':memory:');
  const commits: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (batch: WriteBatch) => {
    await commit(batch);
    commits.push(batch.inserts.length);
  };
  return { store, commits };
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
