/**
 * The test PostgreSQL server itself: a fresh database per test, PostgreSQL 18, and the two
 * features a shared queue leans on, LISTEN/NOTIFY and SELECT ... FOR UPDATE SKIP LOCKED.
 */
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freshDatabase, withAdmin } from './server.js';

/** A connected client, closed when the test finishes. */
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onTestFinished(() => client.end());
  return client;
}

describe('test PostgreSQL server', () => {
  it('gives each test a new, empty PostgreSQL 18 database', async () => {
    const url = await freshDatabase();
    const other = await freshDatabase();
    expect(other).not.toBe(url);
    const client = await connect(url);
    const { rows: version } = await client.query<{ version: string }>('SELECT version()');
    expect(version[0]!.version).toContain('PostgreSQL 18');
    const { rows: tables } = await client.query(
      "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    expect(tables).toEqual([]);
    await client.query('CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)');
    await client.query("INSERT INTO t VALUES (1, 'één')");
    expect((await client.query('SELECT v FROM t')).rows).toEqual([{ v: 'één' }]);
  });

  // Tests in a file run in order: the second sees what the first left behind.
  let previous = '';
  const exists = (name: string) =>
    withAdmin(async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount);

  it('makes a database that exists during the test', async () => {
    previous = new URL(await freshDatabase()).pathname.slice(1);
    expect(await exists(previous)).toBe(1);
  });

  it('has dropped it once the test finished', async () => {
    expect(previous).not.toBe('');
    expect(await exists(previous)).toBe(0);
  });

  it('delivers NOTIFY to a LISTENing connection', async () => {
    const url = await freshDatabase();
    const listener = await connect(url);
    const notifier = await connect(url);
    await listener.query('LISTEN task_ready');
    const received = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
    await notifier.query("SELECT pg_notify('task_ready', 'task-1')");
    const notification = await received;
    expect(notification.channel).toBe('task_ready');
    expect(notification.payload).toBe('task-1');
    const { rows } = await notifier.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(notification.processId).toBe(rows[0]!.pid);
  });

  it('lets a second connection skip the row the first one locked (FOR UPDATE SKIP LOCKED)', async () => {
    const url = await freshDatabase();
    const first = await connect(url);
    const second = await connect(url);
    await first.query('CREATE TABLE queue (id int PRIMARY KEY)');
    await first.query('INSERT INTO queue VALUES (1), (2)');
    const claim = 'SELECT id FROM queue ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED';

    await first.query('BEGIN');
    expect((await first.query(claim)).rows).toEqual([{ id: 1 }]);
    await second.query('BEGIN');
    expect((await second.query(claim)).rows).toEqual([{ id: 2 }]);
    // With both rows locked, a third claim finds nothing rather than waiting.
    const third = await connect(url);
    expect((await third.query(claim)).rows).toEqual([]);
    await first.query('COMMIT');
    await second.query('COMMIT');
    expect((await third.query(claim)).rows).toEqual([{ id: 1 }]);
  });
});
