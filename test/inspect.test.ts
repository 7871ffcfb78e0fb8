/**
 * openInspector: a task database read (and cleaned up) without a runtime. Real files in a
 * temp folder; a runtime only where one is needed to write the rows.
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openInspector, OffthreadError, type TaskFilter, type TaskInspector, type TaskRuntime } from 'offthread';
import { idPrefixRange as prefixRange } from '../src/store/id-prefix.js';
import { FIND_PREFIX_OPEN_SQL, FIND_PREFIX_SQL, GET_SQL } from '../src/store/sql.js';
import { Gates, openRuntime, submitAtGate, tempDatabase } from './helpers.js';

const HOUR = 3_600_000;
const inspectors = new Set<TaskInspector>();

/** An inspector the test must close; one it leaves open fails the test. */
async function inspect(path: string): Promise<TaskInspector> {
  const inspector = await openInspector(path);
  inspectors.add(inspector);
  return inspector;
}

async function close(inspector: TaskInspector): Promise<void> {
  inspectors.delete(inspector);
  await inspector.close();
}

afterEach(async () => {
  const left = [...inspectors];
  inspectors.clear();
  for (const inspector of left) await inspector.close();
  if (left.length > 0) throw new Error(`${left.length} inspector(s) left open by the test`);
});

const workerThreads = () => process.getActiveResourcesInfo().filter((r) => r === 'Worker').length;

/**
 * A file with tasks of every kind: completed, failed, queued for later, paused, with a
 * key, a backoff, parents... The runtime is returned open; `rt.list()` has been awaited, so
 * every write is committed.
 */
async function populated(): Promise<{ database: string; rt: TaskRuntime; ids: Record<'added' | 'echoed' | 'failed' | 'child' | 'later' | 'paused', string> }> {
  const database = tempDatabase();
  const rt = await openRuntime({ database, concurrency: 1 });
  const added = await rt.submit('add', { a: 1, b: 2 }, { name: 'one plus two', description: 'sums', priority: 'high', timeoutMs: 5000 });
  await added.result();
  const echoed = await rt.submit('echo', { when: new Date(0), tags: new Set(['a']) }, { retries: 2, backoff: { type: 'exponential', delayMs: 10 } });
  await echoed.result();
  const failed = await rt.submit('fail', { message: 'boom' }, { priority: 'low' });
  await failed.result().catch(() => undefined);
  const child = await rt.submit('noop', null, { dependsOn: [added.id], key: 'child', runAt: Date.now() + HOUR });
  const later = await rt.submit('echo', 'later', { priority: 'low', runAt: Date.now() + HOUR });
  const paused = await rt.submit('noop', undefined, { runAt: Date.now() + HOUR, priority: 'high' });
  await rt.pause(paused.id);
  await rt.list();
  return { database, rt, ids: { added: added.id, echoed: echoed.id, failed: failed.id, child: child.id, later: later.id, paused: paused.id } };
}

describe('reading', () => {
  it('get, list and stats return what the runtime returns, while the runtime has the file open', async () => {
    const { database, rt, ids } = await populated();
    const inspector = await inspect(database);
    for (const id of Object.values(ids)) expect(await inspector.get(id), id).toEqual(await rt.get(id));
    expect(await inspector.get('no-such-task')).toBeUndefined();
    expect(await inspector.stats()).toEqual(await rt.stats());
    expect(await inspector.stats()).toMatchObject({ total: 6, completed: 2, failed: 1, queued: 2, paused: 1, running: 0 });
    const filters: TaskFilter[] = [
      {},
      { status: 'completed' },
      { status: ['queued', 'paused'] },
      { priority: 'high' },
      { priority: ['low', 'normal'] },
      { type: 'echo' },
      { type: ['noop', 'fail'], status: ['queued', 'failed'] },
      { status: ['completed', 'failed', 'queued'], priority: ['high', 'low'], type: ['add', 'echo', 'fail'] },
      { limit: 2 },
      { limit: 2, offset: 3 },
      { offset: 5 },
      { limit: 0 },
      { status: 'running' },
    ];
    for (const filter of filters) expect(await inspector.list(filter), JSON.stringify(filter)).toEqual(await rt.list(filter));
    await close(inspector);
    await rt.close();
  });

  it('lists newest first, and checks the filter as TaskRuntime.list does', async () => {
    const { database, rt, ids } = await populated();
    await rt.close();
    const inspector = await inspect(database);
    const submitted = [ids.added, ids.echoed, ids.failed, ids.child, ids.later, ids.paused];
    expect((await inspector.list()).map((t) => t.id)).toEqual(submitted.reverse());
    expect((await inspector.list({ status: 'completed' })).map((t) => t.id)).toEqual([ids.echoed, ids.added]);
    expect((await inspector.list({ priority: 'low', status: ['queued', 'failed'] })).map((t) => t.id)).toEqual([ids.later, ids.failed]);
    for (const bad of [{ status: 'done' }, { priority: 'urgent' }, { limit: -1 }, { offset: 1.5 }, { colour: 'red' }, { type: 7 }]) {
      await expect(inspector.list(bad as TaskFilter), JSON.stringify(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    }
    await close(inspector);
  });

  it('reads the cron schedules as the runtime reports them', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database });
    await rt.schedule('nightly', '0 3 * * *', 'echo', { n: 1 }, { priority: 'high', overlap: true });
    await rt.schedule('hourly', '0 * * * *', 'noop');
    const inspector = await inspect(database);
    const schedules = await inspector.schedules();
    expect(schedules.map((s) => s.name)).toEqual(['hourly', 'nightly']);
    expect(schedules).toEqual(await rt.schedules());
    await close(inspector);
    await rt.close();
  });
});

describe('find: a task by its id or a unique start of it', () => {
  /** A file with 2000 queued tasks: some pairs of ids surely share their first 4 characters. */
  async function manyTasks() {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    const items = Array.from({ length: 2000 }, (_, n) => ({ type: 'noop', payload: n, options: { runAt: Date.now() + HOUR } }));
    const ids = (await rt.submitMany(items)).map((handle) => handle.id);
    await rt.close();
    return { database, ids };
  }

  it('finds by the whole id and by a unique prefix; unknown is undefined', async () => {
    const { database, ids } = await manyTasks();
    const inspector = await inspect(database);
    const id = ids[1234]!;
    const unique = ids.find((candidate) => ids.filter((other) => other.startsWith(candidate.slice(0, 4))).length === 1)!;
    expect(await inspector.find(id)).toMatchObject({ id, payload: 1234 });
    expect(await inspector.find(id.slice(0, 13))).toMatchObject({ id });
    expect(await inspector.find(unique.slice(0, 4))).toMatchObject({ id: unique });
    expect(await inspector.find(id.toUpperCase())).toBeUndefined(); // ids are compared as they are
    expect(await inspector.find('zzzz')).toBeUndefined();
    expect(await inspector.find(`${id}-and-more`)).toBeUndefined();
    await close(inspector);
  });

  it('rejects an ambiguous prefix with ERR_AMBIGUOUS_ID naming two candidates, and a short one with ERR_INVALID_OPTION', async () => {
    const { database, ids } = await manyTasks();
    const inspector = await inspect(database);
    const shared = ids.map((id) => id.slice(0, 4)).find((prefix, i, all) => all.indexOf(prefix) !== i)!;
    const matching = ids.filter((id) => id.startsWith(shared)).sort();
    const error = await inspector.find(shared).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffthreadError);
    expect(error).toMatchObject({ code: 'ERR_AMBIGUOUS_ID', prefix: shared, candidates: matching.slice(0, 2) });
    expect((error as Error).message).toContain(matching[0]);
    expect((error as Error).message).toContain(matching[1]);
    expect((error as Error).message).toContain('more characters');
    for (const short of ['', 'a', ids[0]!.slice(0, 3)]) {
      await expect(inspector.find(short), short).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'id' });
    }
    await expect(inspector.find(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await close(inspector);
  });

  it('looks a prefix up with a range of the id index (SEARCH), never a scan of the table', async () => {
    const { database } = await manyTasks();
    const db = new Database(database, { readonly: true });
    try {
      const plan = (sql: string, ...args: (string | number)[]) =>
        db.prepare<(string | number)[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((row) => row.detail);
      for (const [sql, args] of [
        [FIND_PREFIX_SQL, ['abcd', 'abce', 2]],
        [FIND_PREFIX_OPEN_SQL, ['abcd', 2]],
        [GET_SQL, ['abcd']],
      ] as const) {
        const details = plan(sql, ...args);
        expect(details, sql).toHaveLength(1);
        expect(details[0], sql).toMatch(/^SEARCH tasks USING (COVERING )?INDEX sqlite_autoindex_tasks_1 \(id[=>]/);
        expect(details.join('\n'), sql).not.toMatch(/SCAN|TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });

  it('bounds a prefix range to exactly the strings that start with it', () => {
    expect(prefixRange('abcd')).toEqual(['abcd', 'abce']);
    expect(prefixRange('0f6c-')).toEqual(['0f6c-', '0f6c.']);
    expect(prefixRange('ab\u{10FFFF}')).toEqual(['ab\u{10FFFF}', 'ac']);
    expect(prefixRange('a\uD7FF')).toEqual(['a\uD7FF', 'a\uE000']);
    expect(prefixRange('\u{10FFFF}\u{10FFFF}')).toEqual(['\u{10FFFF}\u{10FFFF}', undefined]);
  });
});

describe('cleanup', () => {
  it('removes finished rows without starting a thread or touching unfinished tasks', async () => {
    const gates = new Gates();
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    await (await rt.submit('add', { a: 1, b: 1 })).result();
    await (await rt.submit('echo', 'x')).result();
    await (await rt.submit('fail', { message: 'boom' })).result().catch(() => undefined);
    const running = await submitAtGate(rt, { gate: 'never' });
    const queued = await rt.submit('noop');
    // Interrupted: its row stays `running`, as after a crash; the next runtime would re-queue
    // and run both. Nothing here may: no handlers module is named anywhere below.
    await rt.close({ graceful: false });
    expect(workerThreads()).toBe(0);

    const inspector = await inspect(database);
    expect(await inspector.stats()).toMatchObject({ completed: 2, failed: 1, running: 1, queued: 1 });
    expect(await inspector.cleanup({ olderThanMs: 0 })).toBe(3);
    expect(workerThreads()).toBe(0);
    expect(await inspector.stats()).toMatchObject({ total: 2, completed: 0, failed: 0, running: 1, queued: 1 });
    expect(await inspector.get(running.id)).toMatchObject({ status: 'running', attempts: 1 });
    expect(await inspector.get(queued.id)).toMatchObject({ status: 'queued', attempts: 0, startedAt: null });
    await close(inspector);
    // The lock was released: a runtime opens the file again (and re-queues the interrupted task).
    const again = await openRuntime({ database, concurrency: 1, services: gates.services });
    await again.close({ graceful: false });
  });

  it('removes only what is old enough and of the statuses asked for', async () => {
    const { database, rt, ids } = await populated();
    await rt.close();
    const inspector = await inspect(database);
    expect(await inspector.cleanup({ olderThanMs: HOUR })).toBe(0);
    expect(await inspector.cleanup({ olderThanMs: 0, statuses: ['failed'] })).toBe(1);
    expect(await inspector.get(ids.failed)).toBeUndefined();
    expect(await inspector.cleanup({ olderThanMs: 0, statuses: ['completed', 'completed', 'cancelled', 'failed'] })).toBe(2);
    expect((await inspector.list()).map((t) => t.status).sort()).toEqual(['paused', 'queued', 'queued']);
    for (const bad of [{}, { olderThanMs: -1 }, { olderThanMs: '1' }, { olderThanMs: 0, statuses: ['queued'] }, { olderThanMs: 0, statuses: 'failed' }]) {
      await expect(inspector.cleanup(bad as never), JSON.stringify(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    }
    await close(inspector);
  });

  it('is refused with ERR_STORE_LOCKED, naming the process, while a runtime has the file open; reads go on', async () => {
    const { database, rt } = await populated();
    const inspector = await inspect(database);
    const error = await inspector.cleanup({ olderThanMs: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED', file: database, owner: { pid: process.pid } });
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect(await inspector.stats()).toMatchObject({ total: 6, completed: 2, failed: 1 });
    await rt.close();
    expect(await inspector.cleanup({ olderThanMs: 0 })).toBe(3);
    await close(inspector);
  });
});

describe('opening and closing', () => {
  it('never creates a missing file: ERR_STORE_NOT_FOUND', async () => {
    const database = tempDatabase();
    const error = await openInspector(database).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffthreadError);
    expect(error).toMatchObject({ code: 'ERR_STORE_NOT_FOUND', file: database });
    expect((error as Error).message).toContain('nothing was created');
    expect(readdirSync(dirname(database))).toEqual([]);
  });

  it('does not create the file again when it is removed under an open inspector', async () => {
    const { database, rt } = await populated();
    await rt.close();
    const inspector = await inspect(database);
    for (const suffix of ['', '-wal', '-shm']) rmSync(database + suffix, { force: true });
    await expect(inspector.cleanup({ olderThanMs: 0 })).rejects.toMatchObject({ code: 'ERR_STORE_NOT_FOUND' });
    expect(existsSync(database)).toBe(false);
    await close(inspector);
  });

  it('rejects bad arguments with ERR_INVALID_OPTION, and a folder with ERR_STORE_UNAVAILABLE', async () => {
    const database = tempDatabase();
    for (const path of [':memory:', '', 42]) {
      await expect(openInspector(path as never), String(path)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'path' });
    }
    await expect(openInspector(database, { colour: 'red' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'colour' });
    await expect(openInspector(database, { durability: 'max' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durability' });
    await expect(openInspector(dirname(database))).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(readdirSync(dirname(database))).toEqual([]);
  });

  it('rejects every call after close() with ERR_RUNTIME_CLOSED; close and dispose are idempotent', async () => {
    const { database, rt, ids } = await populated();
    await rt.close();
    const inspector = await inspect(database);
    await close(inspector);
    await inspector.close();
    inspector[Symbol.dispose]();
    await inspector[Symbol.asyncDispose]();
    const calls = [
      () => inspector.get(ids.added),
      () => inspector.find(ids.added),
      () => inspector.list(),
      () => inspector.stats(),
      () => inspector.schedules(),
      () => inspector.cleanup({ olderThanMs: 0 }),
    ];
    for (const call of calls) await expect(call()).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED', message: expect.stringContaining('openInspector()') });

    const disposed = await openInspector(database);
    await disposed[Symbol.asyncDispose]();
    await expect(disposed.stats()).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
  });
});
