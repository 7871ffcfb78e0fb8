/**
 * Type rates in the PostgreSQL store itself (migration 7): a claim given its host's type
 * rates counts a rated type's held tasks and stored starts over every host of the queue,
 * passes over a type with no room to the others' rows, and marks only rated rows.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import type { StoredTask, TypeRate } from '../../src/store/task-claims.js';
import { freshDatabase } from '../pg/server.js';
import { batch, record } from './conformance.js';
import { pgStores } from './pg-stores.js';

const RATES: TypeRate[] = [{ type: 'paced', count: 2, perMs: 60_000 }];

const claim = (store: PgTaskStore, limit: number, now = Date.now(), rates: TypeRate[] = RATES): Promise<StoredTask[]> =>
  store.claim({ types: ['paced', 'work'], limit, now, leaseUntil: now + 60_000, rates });

async function ratedRows(url: string): Promise<Record<string, boolean>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; rated: boolean }>('SELECT id, rated FROM offthread.tasks WHERE lease_owner IS NOT NULL ORDER BY seq');
    return Object.fromEntries(rows.map((row) => [row.id, row.rated]));
  } finally {
    await client.end();
  }
}

describe('PgTaskStore type rates', () => {
  const open = pgStores();

  it("a type's rate counts what every host holds; a claim passes over the held type to the others' rows", async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    await a.commit(batch(Array.from({ length: 6 }, (_, i) => record(i + 1, { type: 'paced' }))));
    await a.commit(batch([record(7), record(8)]));
    expect((await claim(a, 1)).map((task) => task.id)).toEqual(['t1']);
    // b's walk meets the paced rows first: one fits the room left, the rest are left for the plain ones.
    expect((await claim(b, 10)).map((task) => task.id).sort()).toEqual(['t2', 't7', 't8']);
    expect(await claim(a, 10)).toEqual([]);
    expect(await ratedRows(url)).toEqual({ t1: true, t2: true, t7: false, t8: false });
  });

  it('starts older than the window give its room back, and the host learns when the window moves', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    await store.commit(batch(Array.from({ length: 4 }, (_, i) => record(i + 1, { type: 'paced' }))));
    const now = Date.now();
    const first = await claim(store, 10, now);
    expect(first.map((task) => task.id)).toEqual(['t1', 't2']);
    // They start at `now` and `now + 10`, and end.
    const started = new Map(first.map((task, i) => [task.id, { status: 'completed' as const, attempts: 1, startedAt: now + 10 * i, completedAt: now + 20, updatedAt: now + 20 }]));
    await store.commit(batch([], Object.fromEntries(started)));
    expect(await claim(store, 10, now + 30)).toEqual([]);
    expect(await store.nextDue(['paced'], now + 30)).toBe(now + 60_000);
    // One start has left the window: room for one.
    expect((await claim(store, 10, now + 60_005)).map((task) => task.id)).toEqual(['t3']);
  });

  it("a claim holds both a type's rate and a group's cap; a row left for one takes nothing of the other's room", async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    await a.setGroupLimits([{ group: 'g', limits: { concurrency: 1 } }]);
    await a.commit(
      batch([
        record(1, { type: 'paced', group: 'g' }),
        record(2, { type: 'paced', group: 'g' }),
        record(3, { type: 'paced' }),
        record(4, { type: 'paced' }),
        record(5, { group: 'g' }),
        record(6),
      ]),
    );
    const claimed = [...(await claim(a, 10)), ...(await claim(b, 10))];
    expect(claimed.filter((task) => task.group === 'g')).toHaveLength(1);
    expect(claimed.filter((task) => task.type === 'paced')).toHaveLength(2);
    // A paced row of g left for g's cap took none of the type's room: the second paced row
    // claimed is one without a group. The plain row without a group is taken whatever.
    expect(claimed.map((task) => task.id)).toContain('t6');
  });

  it('a host without rated types claims as before: nothing marked, nothing held back', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    await store.commit(batch(Array.from({ length: 4 }, (_, i) => record(i + 1, { type: 'paced' }))));
    expect(await claim(store, 10, Date.now(), [])).toHaveLength(4);
    expect(await ratedRows(url)).toEqual({ t1: false, t2: false, t3: false, t4: false });
  });
});
