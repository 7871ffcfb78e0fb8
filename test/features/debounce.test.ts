/**
 * Debounce: a key with debounceMs names the task that will run after the last submit; a
 * submit before it starts replaces its payload and pushes its start back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Gates, openRuntime, tempDatabase } from '../helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('debounce (key + debounceMs)', () => {
  it('a submit before the task starts replaces its payload and pushes its start back; the last payload runs, once', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    // The host's clock is faked (the threads are real), so the delay passes without a wait.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const first = await rt.submit('echo', 'a', { key: 'doc-1', debounceMs: 60_000 });
    const firstRunAt = (await rt.get(first.id))!.runAt!;
    vi.advanceTimersByTime(30_000);
    const second = await rt.submit('echo', 'b', { key: 'doc-1', debounceMs: 60_000 });
    // Two submits in one turn: the second's payload reaches the row's INSERT or its patch alike.
    void rt.submit('echo', 'c', { key: 'doc-2', debounceMs: 60_000 });
    const third = await rt.submit('echo', 'd', { key: 'doc-2', debounceMs: 60_000 });
    expect(second.id).toBe(first.id);
    const task = await rt.get(first.id);
    expect(task).toMatchObject({ status: 'queued', payload: 'b' });
    expect(task!.runAt).toBe(firstRunAt + 30_000);
    vi.advanceTimersByTime(30_000);
    expect((await rt.get(first.id))!.status).toBe('queued'); // its first start time passed: pushed back
    await rt.close();
    vi.useRealTimers();
    // Stored as it was changed: reopened, the rows hold the last payloads.
    const again = await openRuntime({ database, concurrency: 1 });
    expect((await again.get(first.id))!.payload).toBe('b');
    expect((await again.get(third.id))!.payload).toBe('d');
    expect(await again.stats()).toMatchObject({ total: 2, queued: 2 });
    await again.cancelMany({});
    await again.close();
  });

  it('runs the last payload once the delay has passed', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const handle = await rt.submit('echo', 'x', { key: 'k', debounceMs: 1000 });
    await rt.submit('echo', 'y', { key: 'k', debounceMs: 1000 });
    vi.advanceTimersByTime(1001);
    vi.useRealTimers();
    expect(await handle.result()).toBe('y');
    expect(await rt.stats()).toMatchObject({ total: 1, completed: 1 });
    await rt.close();
  });

  it('once the task has started, a debounced submit queues a new one under the key, so the last payload runs too', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const running = await rt.submit('gated', { gate: 'g1', result: 'first' }, { key: 'save', debounceMs: 0 });
    await gates.reached('g1');
    const next = await rt.submit('gated', { gate: 'g2', result: 'second' }, { key: 'save', debounceMs: 0 });
    expect(next.id).not.toBe(running.id);
    // The key is the new task's now.
    expect((await rt.submit('gated', { gate: 'g2', result: 'third' }, { key: 'save', debounceMs: 0 })).id).toBe(next.id);
    gates.open('g1');
    gates.open('g2');
    expect(await running.result()).toBe('first');
    expect(await next.result()).toBe('third');
    await rt.close();
  });

  it('refuses debounceMs without a key, with runAt, or below 0', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    await expect(rt.submit('echo', 1, { debounceMs: 10 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(rt.submit('echo', 1, { key: 'k', debounceMs: 10, runAt: Date.now() })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(rt.submit('echo', 1, { key: 'k', debounceMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await rt.close();
  });
});
