/**
 * Groups in the PostgreSQL store itself (migration 6): turns taken at insert, claims in turn
 * order, a schema of the version before keeping its queued rows' order, and group caps
 * counted across two stores (hosts) of one queue.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/pg-migrations.js';
import type { StoredTask } from '../../src/store/task-claims.js';
import { freshDatabase } from '../pg/server.js';
import { batch, record } from './conformance.js';
import { pgStores } from './pg-stores.js';

const claimAll = (store: PgTaskStore, limit: number): Promise<StoredTask[]> => {
  const now = Date.now();
  return store.claim({ types: ['work'], limit, now, leaseUntil: now + 60_000 });
};

describe('PgTaskStore groups', () => {
  const open = pgStores();

  it('claims a priority round-robin across groups, each group in submit order; without groups, in submit order', async () => {
    const store = await open(await freshDatabase());
    await store.commit(batch(Array.from({ length: 30 }, (_, i) => record(i + 1, { group: 'big' }))));
    await store.commit(batch(Array.from({ length: 3 }, (_, i) => record(i + 31, { group: 'small' }))));
    await store.commit(batch([record(34), record(35)]));
    const ids = (await claimAll(store, 8)).sort((a, b) => a.seq - b.seq).map((task) => task.id);
    // Turns: big t1 t2 t3..., small and the tasks without a group from the queue's turn (0) on.
    expect(ids).toEqual(['t1', 't2', 't3', 't31', 't32', 't33', 't34', 't35']);
    const next = (await claimAll(store, 100)).map((task) => task.id);
    expect(next).toHaveLength(27);
    // A group arriving now starts from the queue's turn (the largest claimed): no credit for
    // having been idle, and not behind the big group's backlog either.
    await store.commit(batch(Array.from({ length: 30 }, (_, i) => record(i + 41, { group: 'big' }))));
    await store.commit(batch([record(71, { group: 'late' }), record(72, { group: 'late' })]));
    const late = (await claimAll(store, 4)).map((task) => task.id).sort();
    expect(late).toEqual(['t41', 't42', 't71', 't72']);
  });

  it('a keyed insert takes a turn too', async () => {
    const store = await open(await freshDatabase());
    await store.commit(batch(Array.from({ length: 5 }, (_, i) => record(i + 1, { group: 'a' }))));
    const { payload, changes, ...keyed } = record(6, { group: 'b', key: 'k' });
    void changes;
    expect(await store.insertKeyed(keyed, payload)).toBe('t6');
    expect((await claimAll(store, 2)).map((task) => task.id).sort()).toEqual(['t1', 't6']);
  });

  it('a database of the version before keeps its queued rows in submit order, and a new group is not queued behind them', async () => {
    const url = await freshDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // The schema as version 5 left it, with rows of two groups queued.
      await client.query('CREATE SCHEMA offthread');
      await client.query('CREATE TABLE offthread.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (let version = 1; version <= 5; version++) {
        await client.query(PG_MIGRATIONS[version - 1]!);
        await client.query('INSERT INTO offthread.migrations (version) VALUES ($1)', [version]);
      }
      for (let i = 1; i <= 6; i++) {
        await client.query(
          `INSERT INTO offthread.tasks (queue, id, type, priority, status, created_at, updated_at, group_name)
           VALUES ('default', $1, 'work', 1, 'queued', $2, $2, $3)`,
          [`old${i}`, 1000 + i, i <= 4 ? 'a' : 'b'],
        );
      }
    } finally {
      await client.end();
    }
    const store = await open(url);
    expect((await claimAll(store, 2)).map((task) => task.id).sort()).toEqual(['old1', 'old2']);
    await store.commit(batch([record(100, { group: 'new' })]));
    // The queue's turn is the largest claimed (old2's seq): the new group goes before old3.
    expect((await claimAll(store, 1)).map((task) => task.id)).toEqual(['t100']);
    expect((await claimAll(store, 10)).map((task) => task.id).sort()).toEqual(['old3', 'old4', 'old5', 'old6']);
  });

  it("a group's cap counts what every host holds; a claim passes over a capped group to the others", async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    await a.setGroupLimits([{ group: 'capped', limits: { concurrency: 2 } }]);
    await a.commit(batch(Array.from({ length: 10 }, (_, i) => record(i + 1, { group: 'capped' }))));
    await a.commit(batch([record(11, { group: 'free' }), record(12)]));
    const byA = await claimAll(a, 1);
    const byB = await claimAll(b, 10);
    const capped = [...byA, ...byB].filter((task) => task.group === 'capped');
    expect(capped).toHaveLength(2);
    expect(byB.map((task) => task.id)).toEqual(expect.arrayContaining(['t11', 't12']));
    expect(await claimAll(a, 10)).toEqual([]);
    // The default limits every group without its own; removing the group's own falls back to it.
    await b.setGroupLimits([
      { group: null, limits: { concurrency: 3 } },
      { group: 'capped', limits: null },
    ]);
    expect((await claimAll(a, 10)).map((task) => task.group)).toEqual(['capped']);
  });
});
