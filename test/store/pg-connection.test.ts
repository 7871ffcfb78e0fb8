/**
 * The PostgreSQL store when the server goes away: queries throw StoreUnavailableError, the
 * LISTEN connection comes back by itself and says what it missed. Against the test run's
 * real server, cut off through a TCP proxy (./pg-proxy.ts) or by terminating a backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/errors.js';
import { isConnectionFailure, storeError } from '../../src/store/postgres/pg-errors.js';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import { freshDatabase, withAdmin } from '../pg/server.js';
import { FeedRecorder } from './claims-conformance.js';
import { batch, record } from './conformance.js';
import { TcpProxy } from './pg-proxy.js';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

async function open(url: string): Promise<PgTaskStore> {
  const store = await PgTaskStore.open({ connectionString: url });
  opened.push(store);
  return store;
}

async function proxied(url: string): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(url);
  opened.push(proxy);
  return proxy;
}

describe('PgTaskStore without its server', () => {
  it('comes back listening after its LISTEN connection is terminated, and says resync, then ready', async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    const feed = new FeedRecorder();
    await a.listen(feed);
    const terminated = await withAdmin((client) =>
      client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [
        `offthread ${a.hostId}`,
      ]),
    );
    expect(terminated.rowCount).toBe(1);
    await feed.until((f) => f.resyncs === 1 && f.readies === 1);
    expect(feed.calls).toEqual(['resync', 'ready']);
    // Listening again: what another host says now is told.
    await b.commit(batch([record(1)]));
    await feed.until((f) => f.readies === 2);
  });

  it('throws StoreUnavailableError for queries while the server is out of reach, and works again once it is back', async () => {
    const url = await freshDatabase();
    const proxy = await proxied(url);
    const store = await open(proxy.url(url));
    const peer = await open(url);
    const feed = new FeedRecorder();
    await store.listen(feed);
    await store.commit(batch([record(1)]));

    proxy.refuse();
    for (const call of [() => store.get('t1'), () => store.commit(batch([record(2)])), () => store.control('t1', { action: 'pause' })]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUnavailable(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      const { message } = error as Error;
      const { password, pathname } = new URL(url);
      expect(message).toContain(`127.0.0.1:${proxy.port}${pathname}`);
      expect(message).not.toContain(password);
    }
    // The LISTEN connection tries again, waiting longer each time: three calls above, two tries of its own.
    await proxy.untilRefused(5);
    expect(feed.resyncs).toBe(0);

    proxy.pass();
    await feed.until((f) => f.resyncs === 1 && f.readies >= 1);
    expect(feed.calls.slice(-2)).toEqual(['resync', 'ready']);
    expect(await store.get('t1')).toMatchObject({ status: 'queued' });
    expect(await store.get('t2')).toBeUndefined(); // the failed commit left nothing
    const readies = feed.readies;
    await peer.commit(batch([record(3)]));
    await feed.until((f) => f.readies > readies);
  });

  it('close() stops a reconnect under way', async () => {
    const url = await freshDatabase();
    const proxy = await proxied(url);
    const store = await PgTaskStore.open({ connectionString: proxy.url(url) });
    const feed = new FeedRecorder();
    await store.listen(feed);
    proxy.refuse();
    await proxy.untilRefused(1);
    await store.close();
    proxy.pass();
    expect(proxy.open).toBe(0);
    expect(feed.resyncs).toBe(0);
  });

  it('a listen while the server is out of reach rejects with StoreUnavailableError; a later one listens', async () => {
    const url = await freshDatabase();
    const proxy = await proxied(url);
    const store = await open(proxy.url(url));
    proxy.refuse();
    const error = await store.listen(new FeedRecorder()).catch((e: unknown) => e);
    expect(isUnavailable(error)).toBe(true);
    proxy.pass();
    const feed = new FeedRecorder();
    await store.listen(feed);
    const peer = await open(url);
    await peer.commit(batch([record(1)]));
    await feed.until((f) => f.readies === 1);
  });

  it('other failures pass through as they are', async () => {
    const store = await open(await freshDatabase());
    await store.commit(batch([record(1)]));
    const error = await store.commit(batch([record(1)])).catch((e: unknown) => e);
    expect(isUnavailable(error)).toBe(false);
    expect(error).toMatchObject({ code: '23505' }); // unique_violation
  });
});

describe('isConnectionFailure', () => {
  const withCode = (code: string): Error => Object.assign(new Error('x'), { code });

  it('is true for a server out of reach or a connection that dropped', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '08006', '08001', '57P01', '57P02', '57P03']) {
      expect(isConnectionFailure(withCode(code)), code).toBe(true);
    }
    expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionFailure(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isConnectionFailure(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]))).toBe(true);
  });

  it('is false for anything else', () => {
    for (const code of ['23505', '42P01', '57014', '40001', 'ERR_NOT_CLONEABLE']) expect(isConnectionFailure(withCode(code)), code).toBe(false);
    expect(isConnectionFailure(new Error('syntax error'))).toBe(false);
    expect(isConnectionFailure(undefined)).toBe(false);
    expect(isConnectionFailure('ECONNREFUSED')).toBe(false);
    expect(isConnectionFailure(new AggregateError([]))).toBe(false);
  });

  it('storeError wraps only those', () => {
    const lost = storeError(withCode('57P01'), 'postgres://u:***@db:5432/app');
    expect(isUnavailable(lost)).toBe(true);
    expect((lost as Error).message).toContain('postgres://u:***@db:5432/app');
    const other = withCode('23505');
    expect(storeError(other, 'x')).toBe(other);
  });

  it('storeError types a server whose disk is full (53100) or failed (58030), naming the server, the error as cause', () => {
    const full = withCode('53100');
    expect(storeError(full, 'postgres://u:***@db:5432/app')).toMatchObject({ code: 'ERR_STORE_FULL', name: 'StoreFullError', cause: full });
    expect((storeError(full, 'postgres://u:***@db:5432/app') as Error).message).toContain('postgres://u:***@db:5432/app');
    expect(storeError(withCode('58030'), 'x')).toMatchObject({ code: 'ERR_STORE_IO', name: 'StoreIOError' });
  });
});
