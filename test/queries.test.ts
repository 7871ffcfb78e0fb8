import { describe, expect, it } from 'vitest';
import { Gates, openRuntime, submitAtGate } from './helpers.js';

describe('get, list, stats, cleanup', () => {
  it('lists newest first and filters by status, priority and type', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const a = await rt.submit('echo', 'a', { priority: 'low' });
    const b = await rt.submit('add', { a: 1, b: 1 }, { priority: 'high' });
    const c = await rt.submit('fail');
    await rt.whenIdle();
    expect((await rt.list()).map((t) => t.id)).toEqual([c.id, b.id, a.id]);
    expect((await rt.list({ status: 'failed' })).map((t) => t.id)).toEqual([c.id]);
    expect((await rt.list({ status: ['completed', 'failed'], priority: 'normal' })).map((t) => t.id)).toEqual([c.id]);
    expect((await rt.list({ type: ['echo', 'add'] })).map((t) => t.id)).toEqual([b.id, a.id]);
    expect((await rt.list({ limit: 1, offset: 1 })).map((t) => t.id)).toEqual([b.id]);
    await rt.close();
  });

  it('pages by keyset with before: the next page after a task, wherever new tasks put it', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await rt.submit('noop')).id);
    const first = await rt.list({ limit: 2 });
    expect(first.map((t) => t.id)).toEqual([ids[4], ids[3]]);
    await rt.submit('noop'); // newer: with offset, the next page would repeat ids[3]
    expect((await rt.list({ limit: 2, before: first[1]!.id })).map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect((await rt.list({ before: ids[0] }))).toEqual([]);
    await rt.whenIdle();
    await rt.cleanup({ olderThanMs: 0 });
    // A page after a task removed since is not "the end": the caller is told.
    await expect(rt.list({ before: ids[2] })).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await expect(rt.list({ before: 42 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'before' });
    // Only list takes it: the bulk actions' filter does not.
    await expect(rt.cancelMany({ before: ids[0] } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'before' });
    await rt.close();
  });

  it('rejects a bad filter with ERR_INVALID_OPTION', async () => {
    const rt = await openRuntime();
    await expect(rt.list({ status: 'done' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'status' });
    await expect(rt.list({ limit: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'limit' });
    await expect(rt.list({ sort: 'asc' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'sort' });
    await rt.close();
  });

  it('counts tasks by status', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'g' });
    const queued = await rt.submit('noop');
    const paused = await rt.submit('noop');
    await rt.pause(paused.id);
    const cancelled = await rt.submit('noop');
    await rt.cancel(cancelled.id);
    expect(await rt.stats()).toEqual({ total: 4, queued: 1, running: 1, paused: 1, completed: 0, failed: 0, cancelled: 1 });
    gates.open('g');
    await rt.whenIdle();
    expect(await rt.stats()).toMatchObject({ queued: 0, running: 0, paused: 1, completed: 2 });
    expect((await rt.get(queued.id))!.status).toBe('completed');
    await rt.close();
  });

  it('cleanup removes only finished tasks of the given statuses and says how many', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const blocker = await submitAtGate(rt, { gate: 'g' });
    const paused = await rt.submit('noop');
    await rt.pause(paused.id);
    const handles = await rt.submitMany([{ type: 'noop' }, { type: 'noop' }, { type: 'fail' }]);
    gates.open('g');
    await rt.whenIdle();
    await rt.cleanup({ olderThanMs: 0, statuses: ['completed'] }).then((n) => expect(n).toBe(3)); // two noops and the blocker
    expect(await rt.get(blocker.id)).toBeUndefined();
    expect(await rt.get(handles[0]!.id)).toBeUndefined();
    expect((await rt.get(handles[2]!.id))!.status).toBe('failed');
    expect(await rt.cleanup({ olderThanMs: 60_000 })).toBe(0); // too recent
    expect(await rt.cleanup({ olderThanMs: 0 })).toBe(1);
    expect((await rt.get(paused.id))!.status).toBe('paused');
    await expect(rt.cleanup({ olderThanMs: 0, statuses: ['queued'] })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await rt.close();
  });
});
