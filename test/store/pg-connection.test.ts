/**
 * The PostgreSQL store when the server goes away: queries throw StoreUnavailableError.
 * Against the test run's real server, cut off through a TCP proxy (./pg-proxy.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/errors.js';
import { isConnectionFailure, storeError } from '../../src/store/postgres/pg-errors.js';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';
import { freshDatabase } from '../pg/server.js';
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
  it('throws StoreUnavailableError for queries while the server is out of reach, and works again once it is back', async () => {
    const url = await freshDatabase();
    const proxy = await proxied(url);
    const store = await open(proxy.url(url));
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
    proxy.pass();
    expect(await store.get('t1')).toMatchObject({ status: 'queued' });
    expect(await store.get('t2')).toBeUndefined(); // the failed commit left nothing
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
});
