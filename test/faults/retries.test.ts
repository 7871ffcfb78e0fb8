import { describe, expect, it } from 'vitest';
import type { TaskEvent } from 'offthread';
import { nextEvent, record } from '../helpers.js';
import { openFaulty } from './helpers.js';

describe('retries', () => {
  it('runs a failing task again until it succeeds, a retrying event per retry', async () => {
    const rt = await openFaulty();
    const events = record(rt.events$);
    const handle = await rt.submit('flaky', { failures: 2 }, { retries: 3 });
    expect(await handle.result()).toEqual({ attempt: 3 });
    const retrying = events.filter((e): e is Extract<TaskEvent, { type: 'retrying' }> => e.type === 'retrying');
    expect(retrying.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retrying[0]!.error).toMatchObject({ code: 'ERR_TASK_FAILED', message: 'attempt 1 failed', stack: expect.stringContaining('faulty.js') });
    expect(events.filter((e) => e.type === 'started').map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect((await rt.get(handle.id))!).toMatchObject({ status: 'completed', attempts: 3, retries: 3 });
    await rt.close();
  });

  it('fails for good once the retries are used up, keeping the last error', async () => {
    const rt = await openFaulty();
    const handle = await rt.submit('flaky', { failures: 5 }, { retries: 1 });
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', taskError: { message: 'attempt 2 failed' } });
    expect((await rt.get(handle.id))!).toMatchObject({ status: 'failed', attempts: 2 });
    await rt.close();
  });

  it('counts a crash as a failure and retries it', async () => {
    const rt = await openFaulty({ concurrency: 1 });
    const handle = await rt.submit('crashOnce', null, { retries: 1 });
    expect(await handle.result()).toBe(2);
    expect((await rt.get(handle.id))!.attempts).toBe(2);
    await rt.close();
  });

  it('waits out the backoff as a queued task with runAt set; a cancel ends it at once', async () => {
    const rt = await openFaulty();
    const retrying = nextEvent(rt.events$, 'retrying');
    const handle = await rt.submit('flaky', { failures: 1 }, { retries: 1, backoff: { type: 'fixed', delayMs: 60_000 } });
    const retry = await retrying;
    expect(retry.delayMs).toBe(60_000);
    const waiting = (await rt.get(handle.id))!;
    expect(waiting).toMatchObject({ status: 'queued', attempts: 1, error: { message: 'attempt 1 failed' } });
    expect(waiting.runAt).toBeGreaterThanOrEqual(retry.at + 60_000);
    await rt.cancel(handle.id);
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await rt.close();
  });

  it('never retries a cancelled task', async () => {
    const rt = await openFaulty({ cancelGraceMs: 10, services: { gate: () => new Promise(() => {}) } });
    const events = record(rt.events$);
    const atGate = nextEvent(rt.events$, 'progress');
    const handle = await rt.submit('gated', { gate: 'never' }, { retries: 3 });
    await atGate;
    await rt.cancel(handle.id);
    expect((await rt.get(handle.id))!).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(events.some((e) => e.type === 'retrying')).toBe(false);
    await rt.close();
  });
});

describe('backoff', () => {
  it('computes fixed, exponential, capped and jittered delays', async () => {
    const { retryDelay } = await import('../../src/scheduler/backoff.js');
    expect(retryDelay(null, 3)).toBe(0);
    expect(retryDelay({ type: 'fixed', delayMs: 100 }, 3)).toBe(100);
    expect([1, 2, 3, 4].map((n) => retryDelay({ type: 'exponential', delayMs: 100 }, n))).toEqual([100, 200, 400, 800]);
    expect(retryDelay({ type: 'exponential', delayMs: 100, maxDelayMs: 250 }, 4)).toBe(250);
    expect(retryDelay({ type: 'fixed', delayMs: 100, jitter: 0.5 }, 1, () => 1)).toBe(50);
    expect(retryDelay({ type: 'fixed', delayMs: 100, jitter: 0.5 }, 1, () => 0)).toBe(100);
  });
});
