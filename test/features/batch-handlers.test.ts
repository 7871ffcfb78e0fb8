/**
 * Batch handlers (defineBatchTask): individual tasks, one handler call per batch.
 */
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom } from 'rxjs';
import { Gates, openRuntime } from '../helpers.js';

const BATCHES = new URL('../fixtures/batch-handlers.js', import.meta.url);

describe('batch handlers (defineBatchTask)', () => {
  it('one handler call takes up to maxBatch tasks; each task gets the result at its place', async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 2 });
    const handles = await rt.submitMany(Array.from({ length: 30 }, (_, n) => ({ type: 'fullBatch', payload: { n } })));
    const results = (await Promise.all(handles.map((h) => h.result()))) as Array<{ n: number; size: number; call: string }>;
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(results.every((r) => r.size === 10)).toBe(true);
    expect(new Set(results.map((r) => r.call)).size).toBe(3);
    // Still individual tasks: a row each, completed.
    expect(await rt.stats()).toMatchObject({ total: 30, completed: 30 });
    await rt.close();
  });

  it('a call may hold more tasks than a call of short tasks does (300 here), on every thread', async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 2 });
    const handles = await rt.submitMany(Array.from({ length: 1200 }, (_, n) => ({ type: 'bigBatch', payload: n })));
    expect(new Set(await Promise.all(handles.map((h) => h.result())))).toEqual(new Set([300]));
    await rt.close();
  });

  it('a batch that does not fill goes after maxWaitMs with what it has', async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 1 });
    const handles = await rt.submitMany(Array.from({ length: 3 }, (_, n) => ({ type: 'waitingBatch', payload: n })));
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([0, 1, 2].map((n) => ({ n, size: 3 })));
    await rt.close();
  });

  it("a group's cap holds within a batch handler's calls too: tasks collected for a call count against it", async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 2, groups: { default: { concurrency: 2 } } });
    const handles = await rt.submitMany(Array.from({ length: 6 }, (_, n) => ({ type: 'waitingBatch', payload: n, options: { group: 'g' } })));
    const results = (await Promise.all(handles.map((h) => h.result()))) as Array<{ n: number; size: number }>;
    expect(results.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Math.max(...results.map((r) => r.size)), 'the largest call').toBeLessThanOrEqual(2);
    await rt.close();
  });

  it('an Error at a place fails that task alone; a throw, or a wrong number of results, fails them all', async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 1 });
    const handles = await rt.submitMany(Array.from({ length: 10 }, (_, n) => ({ type: 'fullBatch', payload: { n, bad: n === 4 } })));
    const settled = await Promise.allSettled(handles.map((h) => h.result()));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(9);
    expect(settled[4]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TASK_FAILED', taskError: { message: 'bad 4' } } });
    const thrown = await rt.submitMany([{ type: 'throwingBatch' }, { type: 'throwingBatch' }]);
    for (const h of thrown) await expect(h.result()).rejects.toMatchObject({ taskError: { code: 'E_BULK', message: 'the bulk insert failed' } });
    const short = await rt.submitMany([{ type: 'shortBatch', payload: 1 }, { type: 'shortBatch', payload: 2 }]);
    for (const h of short) await expect(h.result()).rejects.toMatchObject({ taskError: { code: 'ERR_BATCH_RESULTS' } });
    await rt.close();
  });

  it('a task cancelled while it waits for its batch is left out of it', async () => {
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 1 });
    const first = await rt.submitMany(Array.from({ length: 3 }, (_, n) => ({ type: 'fullBatch', payload: { n } })));
    await rt.cancel(first[1]!.id);
    const rest = await rt.submitMany(Array.from({ length: 8 }, (_, n) => ({ type: 'fullBatch', payload: { n: n + 3 } })));
    await expect(first[1]!.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    const results = (await Promise.all([first[0]!, first[2]!, ...rest].map((h) => h.result()))) as Array<{ size: number }>;
    expect(results.map((r) => r.size)).toEqual(Array(10).fill(10));
    await rt.close();
  });

  it('a task cancelled while its batch runs ends cancelled when the call returns; the others complete, the thread lives', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ handlers: BATCHES, concurrency: 1, services: gates.services, cancelGraceMs: 50 });
    const progressed = firstValueFrom(rt.events$.pipe(filter((e) => e.type === 'progress' && e.taskType === 'gatedBatch')));
    const handles = await rt.submitMany(Array.from({ length: 3 }, (_, n) => ({ type: 'gatedBatch', payload: n })));
    await gates.reached('batch');
    expect(await progressed).toMatchObject({ progress: 50, message: 'batch of 3' });
    const cancelled = rt.cancel(handles[1]!.id);
    gates.open('batch');
    await cancelled;
    await expect(handles[1]!.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect(await handles[0]!.result()).toBe(0);
    expect(await handles[2]!.result()).toBe(4);
    expect(await (await rt.submit('echo', 'alive')).result()).toBe('alive');
    await rt.close();
  });
});
