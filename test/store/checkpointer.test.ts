import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// The built store: its checkpoint thread runs built JavaScript (from the sources, SQLite
// checkpoints in the main connection as usual).
import { SqliteTaskStore } from '../../dist/src/store/sqlite-store.js';
import { batch, record } from './conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-checkpoint-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const threads = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort').length;

describe('WAL checkpoints of a file store', () => {
  it('are done by a thread of their own: the database file fills without the main connection checkpointing', async () => {
    const file = path.join(dir, 'tasks.db');
    const before = threads();
    const store = SqliteTaskStore.open(file);
    await store.checkpointsSettled();
    const empty = fs.statSync(file).size;
    // ~150 pages of WAL: far below the 1000 at which the main connection would checkpoint
    // by itself, so only the checkpoint thread can have copied them into the file.
    await store.commit(batch(Array.from({ length: 3000 }, (_, i) => record(i + 1))));
    await store.checkpointsSettled();
    expect(fs.statSync(file).size).toBeGreaterThan(empty + 300_000);
    expect((await store.stats()).total).toBe(3000);
    await store.close();
    // close() stops the thread.
    expect(threads()).toBe(before);
    const again = SqliteTaskStore.open(file);
    expect((await again.stats()).total).toBe(3000);
    await again.close();
  });
});
