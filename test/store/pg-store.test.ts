/**
 * The PostgreSQL store against a real server (started for the test run, see test/pg/), on a
 * fresh database per test: the store conformance suite, the claims of a shared store, and
 * what is particular to PostgreSQL (migrations under a lock, queues apart).
 */
import { describe, expect, it, afterEach } from 'vitest';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/pg-migrations.js';
import type { TaskStore } from '../../src/store/task-store.js';
import { freshDatabase } from '../pg/server.js';
import { describeTaskClaimsConformance, eventsBatch, FeedRecorder } from './claims-conformance.js';
import { PAYLOAD_MAX } from '../../src/store/postgres/pg-events.js';
import type { TaskEvent } from '../../src/types.js';
import { batch, describeTaskStoreConformance, record } from './conformance.js';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';

const urls = new WeakMap<TaskStore, string>();

async function openFresh(): Promise<TaskStore> {
  const url = await freshDatabase();
  const store = await PgTaskStore.open({ connectionString: url });
  urls.set(store, url);
  return store;
}

async function openPeer(store: TaskStore): Promise<TaskStore> {
  const peer = await PgTaskStore.open({ connectionString: urls.get(store)! });
  urls.set(peer, urls.get(store)!);
  return peer;
}

describeTaskStoreConformance('postgres', openFresh, 'shared');
describeTaskClaimsConformance('postgres', 'shared', openFresh, openPeer);

describe('PgTaskStore', () => {
  const opened: PgTaskStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  const open = async (url: string, queue?: string): Promise<PgTaskStore> => {
    const store = await PgTaskStore.open({ connectionString: url, ...(queue === undefined ? {} : { queue }) });
    opened.push(store);
    return store;
  };

  it('hosts opening at once migrate once, under the advisory lock', async () => {
    const url = await freshDatabase();
    await Promise.all([open(url), open(url), open(url)]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM offthread.migrations ORDER BY version');
      expect(rows.map((row) => row.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await client.end();
    }
  });

  it('refuses a schema newer than the code with ERR_STORE_VERSION, changing nothing', async () => {
    const url = await freshDatabase();
    await (await open(url)).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('INSERT INTO offthread.migrations (version) VALUES ($1)', [PG_MIGRATIONS.length + 1]);
      await expect(PgTaskStore.open({ connectionString: url })).rejects.toMatchObject({ code: 'ERR_STORE_VERSION' });
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::integer AS n FROM offthread.migrations');
      expect(rows[0]!.n).toBe(PG_MIGRATIONS.length + 1);
    } finally {
      await client.end();
    }
  });

  it('a server that cannot be reached is ERR_STORE_UNAVAILABLE, naming host, port and database, never the password', async () => {
    // A port nothing listens on: taken from the OS, then let go.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const error = await PgTaskStore.open({ connectionString: `postgres://someone:s3cret-pw@127.0.0.1:${port}/tasks` }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    const { message } = error as Error;
    expect(message).toContain(`127.0.0.1:${port}/tasks`);
    expect(message).not.toContain('s3cret-pw');
  });

  it('keeps queues apart in one database', async () => {
    const url = await freshDatabase();
    const emails = await open(url, 'emails');
    const images = await open(url, 'images');
    await emails.commit(batch([record(1), record(2)]));
    await images.commit(batch([record(1)])); // the same id, in another queue
    expect((await emails.stats()).total).toBe(2);
    expect((await images.stats()).total).toBe(1);
    expect((await images.claim({ types: ['work'], limit: 10, leaseUntil: 10_000, now: 5000 })).map((t) => t.id)).toEqual(['t1']);
    expect((await emails.claim({ types: ['work'], limit: 10, leaseUntil: 10_000, now: 5000 })).map((t) => t.id).sort()).toEqual(['t1', 't2']);
  });

  it('keeps keys, events and wake-ups of one queue from the hosts of another', async () => {
    const url = await freshDatabase();
    const emails = await open(url, 'emails');
    const images = await open(url, 'images');
    const imagesPeer = await open(url, 'images');
    const feed = new FeedRecorder();
    await images.listen(feed);
    expect(await emails.insertKeyed(record(1, { key: 'k' }), null)).toBe('t1');
    expect(await images.insertKeyed(record(2, { key: 'k' }), null)).toBe('t2'); // the same key, another queue
    await emails.commit(eventsBatch([{ type: 'started', taskId: 't1', taskType: 'work', at: 1, attempt: 1 }], batch([record(3)])));
    expect(await emails.control('t1', { action: 'pause' })).toMatchObject({ kind: 'applied' });
    await imagesPeer.commit(eventsBatch([{ type: 'started', taskId: 'marker', taskType: 'work', at: 2, attempt: 1 }]));
    await feed.eventOf('marker');
    expect(feed.told.map((event) => event.taskId)).toEqual(['marker']);
    expect(feed.readies).toBe(1); // images' own insert
  });

  it('sends events in notifications of at most PAYLOAD_MAX bytes, in order, leaving a large result for the row', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    await store.commit(batch([record(1), record(2)]));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const payloads: string[] = [];
      let arrived!: () => void;
      const all = new Promise<void>((resolve) => (arrived = resolve));
      const events: TaskEvent[] = [
        ...Array.from({ length: 100 }, (_, i): TaskEvent => ({ type: 'progress', taskId: 't1', taskType: 'work', at: i, progress: i, message: `é${'m'.repeat(200)}` })),
        { type: 'completed', taskId: 't1', taskType: 'work', at: 100, result: 'small' },
        { type: 'completed', taskId: 't2', taskType: 'work', at: 101, result: 'x'.repeat(5000) },
      ];
      client.on('notification', (message) => {
        if (message.channel !== 'offthread_events') return;
        payloads.push(message.payload!);
        if (payloads.flatMap((payload) => JSON.parse(payload).e).length === events.length) arrived();
      });
      await client.query('LISTEN offthread_events');
      await store.commit(eventsBatch(events, batch([], { t2: { status: 'completed', result: 'x'.repeat(5000), completedAt: 101, updatedAt: 101 } })));
      await all;
      expect(payloads.length).toBeGreaterThan(2);
      for (const payload of payloads) {
        expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(PAYLOAD_MAX);
        expect(JSON.parse(payload)).toMatchObject({ q: 'default', h: store.hostId });
      }
      const wire = payloads.flatMap((payload) => JSON.parse(payload).e as Record<string, unknown>[]);
      expect(wire.map((event) => event.at)).toEqual(events.map((event) => event.at));
      expect(wire.at(-2)).toMatchObject({ type: 'completed', taskId: 't1', result64: expect.any(String) });
      expect(wire.at(-1)).toEqual({ type: 'completed', taskId: 't2', taskType: 'work', at: 101, omitted: ['result'] });
    } finally {
      await client.end();
    }
  });

  it('a task that ends lets go of its lease; it stays marked as claimed, so a patch of a host that does not hold it changes nothing', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    const other = await open(url);
    await store.commit(batch([record(1)]));
    await store.claim({ types: ['work'], limit: 1, leaseUntil: 10_000, now: 5000 });
    const lease = async (): Promise<unknown> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT lease_owner, lease_until::float8 AS lease_until, ever_leased FROM offthread.tasks WHERE id = $1', ['t1']);
        return rows[0];
      } finally {
        await client.end();
      }
    };
    expect(await lease()).toEqual({ lease_owner: store.hostId, lease_until: 10_000, ever_leased: true });
    await store.commit(batch([], { t1: { status: 'failed', error: { code: 'E', message: 'no' }, completedAt: 6000, updatedAt: 6000 } }));
    expect(await lease()).toEqual({ lease_owner: null, lease_until: null, ever_leased: true });
    await other.commit(batch([], { t1: { status: 'completed', updatedAt: 7000 } }));
    expect(await store.get('t1')).toMatchObject({ status: 'failed', updatedAt: 6000 });
  });
});
