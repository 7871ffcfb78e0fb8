import { describe, expect, it } from 'vitest';
import { OffthreadError, TaskRuntime, TaskFailedError } from 'offthread';
import { readFileSync, writeFileSync } from 'node:fs';
import { HANDLERS, nextEvent, openRuntime, tempDatabase } from './helpers.js';

describe('bad input is rejected before anything is stored', () => {
  it('rejects an unknown task type with ERR_UNKNOWN_TASK_TYPE, naming the known ones', async () => {
    const rt = await openRuntime();
    const error = await rt.submit('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffthreadError);
    expect(error).toMatchObject({ code: 'ERR_UNKNOWN_TASK_TYPE' });
    expect((error as Error).message).toContain('echo');
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('rejects bad submit options with ERR_INVALID_OPTION naming the option', async () => {
    const rt = await openRuntime();
    await expect(rt.submit('noop', null, { priority: 'urgent' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('priority'),
    });
    await expect(rt.submit('noop', null, { colour: 'red' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('colour'),
    });
    await expect(rt.submit('noop', null, { name: 42 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('rejects a payload that cannot be cloned with ERR_NOT_CLONEABLE', async () => {
    const rt = await openRuntime();
    await expect(rt.submit('echo', { fn: () => 1 })).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('stores none of a submitMany batch when one item is bad', async () => {
    const rt = await openRuntime();
    const items = [{ type: 'noop' }, { type: 'noop', options: { priority: 'x' as never } }, { type: 'noop' }];
    await expect(rt.submitMany(items)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it.each([
    ['concurrency 0', { concurrency: 0 }, 'concurrency'],
    ['fractional concurrency', { concurrency: 1.5 }, 'concurrency'],
    ['negative progressIntervalMs', { progressIntervalMs: -1 }, 'progressIntervalMs'],
    ['cancelGraceMs as a string', { cancelGraceMs: '10' }, 'cancelGraceMs'],
    ['an unknown option', { threads: 2 }, 'threads'],
    ['a service that is not a function', { services: { x: 1 } }, 'services.x'],
  ])('open rejects %s with ERR_INVALID_OPTION', async (_, options, name) => {
    await expect(TaskRuntime.open({ handlers: HANDLERS, ...(options as object) })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: name,
    });
  });

  it('open rejects a missing handlers module with ERR_HANDLERS_LOAD naming it', async () => {
    const missing = new URL('./fixtures/no-such-module.js', import.meta.url);
    await expect(TaskRuntime.open({ handlers: missing })).rejects.toMatchObject({
      code: 'ERR_HANDLERS_LOAD',
      message: expect.stringContaining('no-such-module.js'),
    });
  });
});

describe('failing tasks', () => {
  it('marks a throwing handler failed, keeps its message, and rejects result() with ERR_TASK_FAILED', async () => {
    const rt = await openRuntime();
    const handle = await rt.submit('fail', { message: 'the input was odd' });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', taskError: { message: 'the input was odd' } });
    expect(await rt.get(handle.id)).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_TASK_FAILED', message: 'the input was odd' },
      attempts: 1,
    });
    await rt.close();
  });

  it("keeps a handler error's own code on the row", async () => {
    const rt = await openRuntime();
    const handle = await rt.submit('failWithCode');
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const { error } = (await rt.get(handle.id))!;
    expect(error).toMatchObject({ code: 'ENOSPC', message: 'disk is full' });
    // Where it threw, kept with it: the handlers module's own frame.
    expect(error!.stack).toMatch(/^Error: disk is full\n\s+at .*fixtures\/handlers\.js:\d+/);
    await rt.close();
  });

  it('fails a task whose result cannot be cloned with ERR_NOT_CLONEABLE', async () => {
    const rt = await openRuntime();
    const handle = await rt.submit('uncloneableResult');
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const task = await rt.get(handle.id);
    expect(task!.error!.code).toBe('ERR_NOT_CLONEABLE');
    expect(task!.error!.message).toMatch(/could not be cloned|cloned/);
    await rt.close();
  });

  it('a failing task does not take others down', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const handles = await rt.submitMany([
      { type: 'add', payload: { a: 1, b: 1 } },
      { type: 'fail' },
      { type: 'add', payload: { a: 2, b: 2 } },
    ]);
    const settled = await Promise.allSettled(handles.map((h) => h.result()));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await rt.stats()).toMatchObject({ completed: 2, failed: 1 });
    await rt.close();
  });
});

describe('bad database files', () => {
  it('rejects a database in a folder that does not exist with ERR_STORE_UNAVAILABLE naming it', async () => {
    const database = '/nonexistent-offthread-folder/tasks.db';
    await expect(TaskRuntime.open({ handlers: HANDLERS, database })).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: expect.stringContaining(database),
    });
  });

  it('rejects a file that is not a database with ERR_STORE_CORRUPT and leaves it unchanged', async () => {
    const database = tempDatabase();
    writeFileSync(database, 'not a database, just some text that is long enough to look like a header '.repeat(20));
    const before = readFileSync(database);
    await expect(TaskRuntime.open({ handlers: HANDLERS, database })).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    expect(readFileSync(database).equals(before)).toBe(true);
  });
});

describe('large submitMany', () => {
  it('checks items across turns of the event loop and still stores nothing when the last is bad', async () => {
    const rt = await openRuntime();
    const items: Array<{ type: string; options?: object }> = Array.from({ length: 5000 }, () => ({ type: 'noop' }));
    items.push({ type: 'noop', options: { priority: 'urgent' } });
    let turns = 0;
    let checking = true;
    const count = (): void => {
      if (!checking) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    await expect(rt.submitMany(items as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    checking = false;
    expect(turns).toBeGreaterThanOrEqual(2);
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('adds a large batch across turns and stores all of it, even when close() comes in the middle', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    const adding = nextEvent(rt.events$, 'created');
    const many = rt.submitMany(Array.from({ length: 5000 }, (_, i) => ({ type: 'echo', payload: i })));
    await adding; // resumes when the first slice yields the turn: the rest are not added yet
    const closed = rt.close({ graceful: false });
    // It had passed its checks, so it completes, and close() waits for it.
    expect(await many).toHaveLength(5000);
    await closed;
    const again = await openRuntime({ database, concurrency: 1 });
    expect((await again.stats()).total).toBe(5000);
    await again.close({ graceful: false });
  });
});
