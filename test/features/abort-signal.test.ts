import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Gates, openRuntime, submitAtGate } from '../helpers.js';

describe('submit with an AbortSignal', () => {
  it('cancels a queued task when the signal aborts', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const busy = await submitAtGate(rt, { gate: 'busy' });
    const controller = new AbortController();
    const waiting = await rt.submit('echo', 'never', { signal: controller.signal });
    expect((await rt.get(waiting.id))!.status).toBe('queued');
    controller.abort();
    await expect(waiting.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect((await rt.get(waiting.id))!.status).toBe('cancelled');
    gates.open('busy');
    await busy.result();
    await rt.close();
  });

  it('stops a running task when the signal aborts (its ctx.signal aborts too)', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const controller = new AbortController();
    const running = await rt.submit('gated', { gate: 'held' }, { signal: controller.signal });
    await gates.reached('held');
    controller.abort();
    await expect(running.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect((await rt.get(running.id))!.status).toBe('cancelled');
    await rt.close();
  });

  it('an already aborted signal rejects with ERR_TASK_CANCELLED and stores nothing, in submit and submitMany', async () => {
    const rt = await openRuntime();
    const aborted = AbortSignal.abort();
    await expect(rt.submit('echo', 1, { signal: aborted })).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED', name: 'TaskCancelledError' });
    await expect(
      rt.submitMany([
        { type: 'echo', payload: 1 },
        { type: 'echo', payload: 2, options: { signal: aborted } },
      ]),
    ).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('follows each item of a submitMany, and lets go of a signal once its task ended', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const shared = new AbortController();
    const [first, second] = await rt.submitMany([
      { type: 'gated', payload: { gate: 'first' }, options: { signal: shared.signal } },
      { type: 'echo', payload: 'second', options: { signal: shared.signal } },
    ]);
    const done = new AbortController();
    const finished = await rt.submit('echo', 'ends first', { signal: done.signal });
    await gates.reached('first');
    shared.abort();
    await expect(first!.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await expect(second!.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect(await finished.result()).toBe('ends first');
    await new Promise((resolve) => setImmediate(resolve)); // the runtime's own wait settles in the same turn
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);
    // A signal aborted after its task completed changes nothing.
    done.abort();
    expect((await rt.get(finished.id))!.status).toBe('completed');
    await rt.close();
  });

  it('is refused when it is not an AbortSignal, and by schedule()', async () => {
    const rt = await openRuntime();
    await expect(rt.submit('echo', 1, { signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'signal' });
    await expect(rt.schedule('s', '0 0 * * *', 'echo', 1, { signal: new AbortController().signal } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'signal',
    });
    await rt.close();
  });
});
