import { describe, expect, it } from 'vitest';
import { TaskRuntime } from 'offthread';
import { HANDLERS, openRuntime } from '../helpers.js';

describe('every option is checked', () => {
  it.each([
    ['handlers', { handlers: 42 }],
    ['handlers', { handlers: '' }],
    ['database', { database: 7 }],
    ['database', { database: '' }],
    ['concurrency', { concurrency: 0 }],
    ['concurrency', { concurrency: 2.5 }],
    ['concurrency', { concurrency: '2' }],
    ['progressIntervalMs', { progressIntervalMs: -1 }],
    ['progressIntervalMs', { progressIntervalMs: Number.NaN }],
    ['cancelGraceMs', { cancelGraceMs: '100' }],
    ['resourceLimits', { resourceLimits: 'big' }],
    ['resourceLimits.maxOldGenerationSizeMb', { resourceLimits: { maxOldGenerationSizeMb: 0 } }],
    ['heapMb', { resourceLimits: { heapMb: 64 } }],
    ['services', { services: 'none' }],
    ['services.x', { services: { x: 1 } }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['timeoutMs', { timeoutMs: Number.POSITIVE_INFINITY }],
    ['durability', { durability: 'fast' }],
    ['niceIncrement', { niceIncrement: -1 }],
    ['niceIncrement', { niceIncrement: 20 }],
    ['niceIncrement', { niceIncrement: 2.5 }],
    ['threads', { threads: 2 }],
  ])('open rejects a bad %s with ERR_INVALID_OPTION naming it', async (option, bad) => {
    const error = await TaskRuntime.open({ handlers: HANDLERS, ...(bad as object) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option });
    expect((error as Error).message).toContain(option.split('.').at(-1)!);
  });

  it.each([
    ['name', { name: 1 }],
    ['description', { description: {} }],
    ['priority', { priority: 'urgent' }],
    ['timeoutMs', { timeoutMs: -5 }],
    ['retries', { retries: -1 }],
    ['retries', { retries: 1.5 }],
    ['backoff', { backoff: 100 }],
    ['backoff.type', { backoff: { type: 'linear', delayMs: 1 } }],
    ['backoff.delayMs', { backoff: { type: 'fixed', delayMs: -1 } }],
    ['backoff.maxDelayMs', { backoff: { type: 'exponential', delayMs: 1, maxDelayMs: 'x' } }],
    ['backoff.jitter', { backoff: { type: 'fixed', delayMs: 1, jitter: 2 } }],
    ['factor', { backoff: { type: 'fixed', delayMs: 1, factor: 3 } }],
    ['delay', { delay: 100 }],
  ])('submit rejects a bad %s with ERR_INVALID_OPTION, storing nothing', async (option, bad) => {
    const rt = await openRuntime();
    await expect(rt.submit('noop', null, bad as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option });
    expect((await rt.stats()).total).toBe(0);
    await rt.close();
  });

  it('does not change the caller’s option objects', async () => {
    const options = Object.freeze({ handlers: HANDLERS, concurrency: 1, resourceLimits: Object.freeze({ maxOldGenerationSizeMb: 256 }) });
    const rt = await openRuntime(options);
    const submitOptions = Object.freeze({ priority: 'high' as const, backoff: Object.freeze({ type: 'fixed' as const, delayMs: 5 }) });
    await (await rt.submit('noop', null, submitOptions)).result();
    await rt.close();
  });
});
