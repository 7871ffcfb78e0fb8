/**
 * openInspector and the CLI on a queue of a PostgreSQL database (a real server, see
 * test/pg/): the same reads as on a SQLite file, nothing created, cleanup without a lock.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openInspector, TaskRuntime, type TaskInspector } from 'offthread';
import { existsSync, readdirSync } from 'node:fs';
import { HANDLERS } from './helpers.js';
import { PgTaskStore } from '../src/store/postgres/pg-task-store.js';
import { freshDatabase } from './pg/server.js';
import { batch, record } from './store/conformance.js';

const CLI = fileURLToPath(new URL('../dist/cli/offthread.js', import.meta.url));

const opened: Array<TaskInspector | PgTaskStore> = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

/** A queue with three tasks, one of them finished long ago. */
async function seeded(queue = 'default'): Promise<string> {
  const url = await freshDatabase();
  const store = await PgTaskStore.open({ connectionString: url, queue });
  opened.push(store);
  await store.commit(
    batch([record(1, { id: 'aaaa-1' }), record(2, { id: 'aaaa-2' }), record(3, { id: 'bbbb-1', type: 'other' })], {
      'aaaa-1': { status: 'completed', completedAt: 1000, updatedAt: 1000 },
    }),
  );
  return url;
}

describe('openInspector on PostgreSQL', () => {
  it('lists, finds by a prefix, counts and cleans up a queue', async () => {
    const url = await seeded();
    const inspector = await openInspector(url);
    opened.push(inspector);
    expect((await inspector.list({})).map((task) => task.id)).toEqual(['bbbb-1', 'aaaa-2', 'aaaa-1']);
    expect((await inspector.list({ type: 'other' })).map((task) => task.id)).toEqual(['bbbb-1']);
    expect(await inspector.find('bbbb')).toMatchObject({ id: 'bbbb-1', type: 'other', payload: { n: 3 } });
    await expect(inspector.find('aaaa')).rejects.toMatchObject({ code: 'ERR_AMBIGUOUS_ID' });
    expect(await inspector.find('cccc')).toBeUndefined();
    expect(await inspector.stats()).toMatchObject({ total: 3, queued: 2, completed: 1 });
    expect(await inspector.cleanup({ olderThanMs: 0 })).toBe(1);
    expect(await inspector.get('aaaa-1')).toBeUndefined();
    expect(await inspector.schedules()).toEqual([]);
  });

  it('sees only its queue', async () => {
    const url = await seeded('emails');
    const inspector = await openInspector(url, { queue: 'images' });
    opened.push(inspector);
    expect(await inspector.stats()).toMatchObject({ total: 0 });
  });

  it('a database no runtime has opened is ERR_STORE_VERSION, and nothing is created in it', async () => {
    const url = await freshDatabase();
    await expect(openInspector(url)).rejects.toMatchObject({ code: 'ERR_STORE_VERSION' });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::integer AS n FROM pg_namespace WHERE nspname = 'offthread'");
      expect(rows[0]!.n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe('a runtime given a postgres:// URL', () => {
  it('opens the queue there (no file of that name is made), and the inspector reads what it ran', async () => {
    const url = await freshDatabase();
    const before = readdirSync('.');
    const runtime = await TaskRuntime.open({ handlers: HANDLERS, database: url, concurrency: 1 });
    try {
      const handle = await runtime.submit('add', { a: 1, b: 2 });
      expect(await handle.result()).toBe(3);
    } finally {
      await runtime.close();
    }
    expect(readdirSync('.')).toEqual(before);
    expect(existsSync('postgres:')).toBe(false);
    const inspector = await openInspector(url);
    opened.push(inspector);
    expect(await inspector.stats()).toMatchObject({ total: 1, completed: 1 });
  });

  it('takes queue and leaseMs there only, and checks them', async () => {
    await expect(TaskRuntime.open({ handlers: HANDLERS, queue: 'q' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'queue' });
    await expect(TaskRuntime.open({ handlers: HANDLERS, leaseMs: 5000 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'leaseMs' });
    const url = await freshDatabase();
    await expect(TaskRuntime.open({ handlers: HANDLERS, database: url, leaseMs: 10 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'leaseMs' });
    await expect(TaskRuntime.open({ handlers: HANDLERS, database: url, queue: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'queue' });
    await expect(TaskRuntime.open({ handlers: HANDLERS, concurrency: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'concurrency' });
  });
});

describe('the CLI on PostgreSQL', () => {
  it('ls, show and stats take a postgres:// URL as --db', async () => {
    const url = await seeded();
    const run = async (...args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args, '--db', url])).stdout;
    expect(JSON.parse(await run('ls', '--json')).map((task: { id: string }) => task.id)).toEqual(['bbbb-1', 'aaaa-2', 'aaaa-1']);
    expect(await run('show', 'bbbb')).toContain('bbbb-1');
    expect(JSON.parse(await run('stats', '--json'))).toMatchObject({ total: 3, completed: 1 });
  });
});
