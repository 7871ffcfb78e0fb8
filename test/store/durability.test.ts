import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/open-database.js';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-durability-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `tasks-${++files}.db`);

describe('durability', () => {
  // PRAGMA synchronous is per connection, so it is read on the store's own connection.
  it.each([
    [undefined, 1],
    ['normal', 1],
    ['full', 2],
  ] as const)('durability %s opens a WAL file with synchronous = %i', (durability, expected) => {
    const { db, lock } = openDatabase(newFile(), durability === undefined ? {} : { durability });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(expected);
    } finally {
      db.close();
      lock?.release();
    }
  });

  it("a store opened with durability 'full' works and its file reopens", async () => {
    const file = newFile();
    const store = SqliteTaskStore.open(file, { durability: 'full' });
    expect(await store.stats()).toMatchObject({ total: 0 });
    await store.close();
    const again = SqliteTaskStore.open(file, { readonly: true });
    expect(await again.stats()).toMatchObject({ total: 0 });
    await again.close();
  });
});
