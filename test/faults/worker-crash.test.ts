import { describe, expect, it } from 'vitest';
import { nextEvent } from '../helpers.js';
import { openFaulty } from './helpers.js';

describe('a worker thread that dies', () => {
  it.each([
    ['calls process.exit()', 'exitThread'],
    ['throws outside its promise', 'throwOutside'],
  ])('fails the task that %s with ERR_WORKER_CRASHED; the thread is replaced and others go on', async (_, type) => {
    const rt = await openFaulty({ concurrency: 1 });
    const crashing = await rt.submit(type);
    const after = await rt.submitMany([{ type: 'ok', payload: 1 }, { type: 'ok', payload: 2 }]);
    await expect(crashing.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect((await rt.get(crashing.id))!).toMatchObject({ status: 'failed', error: { code: 'ERR_WORKER_CRASHED' }, attempts: 1 });
    // The only thread died; its replacement runs the rest.
    expect(await Promise.all(after.map((h) => h.result()))).toEqual([1, 2]);
    await rt.close();
  });

  it('fails a task that exceeds resourceLimits with ERR_WORKER_OUT_OF_MEMORY, and goes on', async () => {
    const rt = await openFaulty({ concurrency: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
    const hog = await rt.submit('hog');
    await expect(hog.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const error = (await rt.get(hog.id))!.error!;
    expect(error.code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    expect(error.message).toMatch(/out of memory/);
    expect(error.message).toMatch(/maxOldGenerationSizeMb=32/);
    expect(await (await rt.submit('ok', 'still here')).result()).toBe('still here');
    await rt.close();
  });

  it('terminates and replaces the thread of a task that ignores a cancel; the next task waits for the new thread', async () => {
    const rt = await openFaulty({ concurrency: 1, cancelGraceMs: 20 });
    const spinning = nextEvent(rt.events$, 'progress');
    const stuck = await rt.submit('spin');
    await spinning;
    await rt.cancel(stuck.id);
    expect((await rt.get(stuck.id))!).toMatchObject({ status: 'cancelled', error: { code: 'ERR_TASK_CANCELLED' } });
    // Its only thread is being replaced: the next task waits in the queue, not counted as
    // running while the new thread loads, and runs once that thread is ready.
    const next = await rt.submit('ok', 'next');
    expect((await rt.get(next.id))!.status).toBe('queued');
    expect(await next.result()).toBe('next');
    await rt.close();
  });

  it('fails a task whose result cannot be cloned with ERR_NOT_CLONEABLE naming the problem', async () => {
    const rt = await openFaulty();
    const handle = await rt.submit('badResult');
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const error = (await rt.get(handle.id))!.error!;
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toMatch(/could not be cloned/);
    await rt.close();
  });
});
