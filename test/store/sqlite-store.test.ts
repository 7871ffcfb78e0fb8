import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/store/codec.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import { describeTaskClaimsConformance } from './claims-conformance.js';
import { batch, describeTaskStoreConformance, record as conformanceRecord, unfinishedOf, type NewRow } from './conformance.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
const newFile = () => path.join(dir, `tasks-${++files}.db`);

describeTaskStoreConformance('sqlite :memory:', () => SqliteTaskStore.open(':memory:'));
describeTaskStoreConformance('sqlite file', () => SqliteTaskStore.open(newFile()));
describeTaskClaimsConformance('sqlite file', 'exclusive', () => SqliteTaskStore.open(newFile()));

function record(seq: number): NewRow {
  return conformanceRecord(seq, { name: `task ${seq}`, priority: 'high', payload: { at: new Date(seq) } });
}

/** Opens a raw connection for looking at what the store left on disk. */
function inspect<T>(file: string, look: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return look(db);
  } finally {
    db.close();
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('SqliteTaskStore', () => {
  const opened: SqliteTaskStore[] = [];
  const open = (file: string, options?: { readonly?: boolean }) => {
    const store = SqliteTaskStore.open(file, options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('keeps tasks across close and reopen', async () => {
    const file = newFile();
    const first = open(file);
    await first.commit(batch([record(1), record(2)], { t2: { status: 'running', updatedAt: 5 } }));
    await first.close();

    const second = open(file);
    expect(await second.get('t1')).toMatchObject({ name: 'task 1', priority: 'high', payload: { at: new Date(1) } });
    const recovered = await second.recover(10);
    const { nextSeq } = recovered;
    expect(unfinishedOf(recovered).map((t) => [t.id, t.status])).toEqual([
      ['t1', 'queued'],
      ['t2', 'queued'],
    ]);
    expect(nextSeq).toBe(3);
  });

  it('puts a file in WAL mode and sets user_version', async () => {
    const file = newFile();
    open(file);
    inspect(file, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    });
  });

  it('migrates only once', async () => {
    const file = newFile();
    const first = open(file);
    await first.commit(batch([record(1)]));
    await first.close();
    const second = open(file);
    expect((await second.stats()).total).toBe(1);
  });

  it('rejects a file from a newer version with ERR_STORE_VERSION and leaves it untouched', () => {
    const file = newFile();
    const db = new Database(file);
    db.exec('CREATE TABLE tasks (x); CREATE TABLE future (y); INSERT INTO future VALUES (1)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = fs.readFileSync(file);

    for (const options of [{}, { readonly: true }]) {
      const error = thrown(() => open(file, options));
      expect(error).toMatchObject({ code: 'ERR_STORE_VERSION' });
      expect((error as Error).message).toContain(file);
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(file)))).toEqual([path.basename(file)]);
  });

  it('opens read-only for inspection; writes fail and nothing is migrated', async () => {
    const file = newFile();
    const writer = open(file);
    await writer.commit(batch([record(1)]));
    await writer.close();

    const reader = open(file, { readonly: true });
    expect(await reader.get('t1')).toMatchObject({ id: 't1' });
    await expect(reader.commit(batch([record(2)]))).rejects.toThrow();

    const blank = newFile();
    new Database(blank).close();
    expect(thrown(() => open(blank, { readonly: true }))).toMatchObject({ code: 'ERR_STORE_VERSION' });
    expect(inspect(blank, (db) => db.pragma('user_version', { simple: true }))).toBe(0);
  });

  it('encodeValue round-trips values and rejects what cannot be cloned with ERR_NOT_CLONEABLE', () => {
    expect(thrown(() => encodeValue(() => 1, 'payload'))).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect(thrown(() => encodeValue({ s: Symbol('x') }, 'result'))).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    const value = { when: new Date(5), nothing: undefined, list: [null] };
    expect(decodeValue(encodeValue(value, 'payload'))).toEqual(value);
    expect(decodeValue(encodeValue(undefined, 'result'))).toBeUndefined();
    expect(decodeValue(null)).toBeUndefined();
  });

  it('rejects an unknown priority before writing', async () => {
    const store = open(':memory:');
    const bad = { ...record(1), priority: 'urgent' as never };
    await expect(store.commit(batch([bad]))).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });
});

describe('SqliteTaskStore: large batches', () => {
  it('writes a large batch a slice per turn of the event loop, still all or nothing', async () => {
    const store = SqliteTaskStore.open(':memory:');
    try {
      const rows = Array.from({ length: 5000 }, (_, i) => record(i + 1));
      let turns = 0;
      let committing = true;
      const count = (): void => {
        if (!committing) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      await store.commit(batch(rows));
      committing = false;
      expect(turns).toBeGreaterThanOrEqual(4); // the loop turned between slices
      expect((await store.stats()).total).toBe(5000);

      // A duplicate id in the last slice rolls the whole batch back.
      const bad = Array.from({ length: 3500 }, (_, i) => record(10_001 + i));
      bad[3400] = { ...bad[3400]!, id: 't1' };
      await expect(store.commit(batch(bad))).rejects.toThrow();
      expect((await store.stats()).total).toBe(5000);
    } finally {
      await store.close();
    }
  });
});
