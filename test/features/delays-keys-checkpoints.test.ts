import { describe, expect, it } from 'vitest';
import { Gates, nextEvent, openRuntime, tempDatabase } from '../helpers.js';

describe('runAt', () => {
  it('holds a task until its time: queued with runAt, and it runs when due', async () => {
    const rt = await openRuntime();
    const later = await rt.submit('echo', 'later', { runAt: Date.now() + 60_000 });
    const task = (await rt.get(later.id))!;
    expect(task.status).toBe('queued');
    expect(task.runAt).toBeGreaterThan(Date.now() + 50_000);
    const past = await rt.submit('echo', 'now', { runAt: new Date(Date.now() - 1000) });
    expect(await past.result()).toBe('now');
    expect((await rt.get(later.id))!.status).toBe('queued'); // still not due
    await rt.cancel(later.id);
    await rt.close();
  });

  it('keeps the delay across a restart', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database });
    const runAt = Date.now() + 3_600_000;
    const later = await first.submit('echo', 'x', { runAt });
    await first.close();
    const second = await openRuntime({ database });
    expect((await second.get(later.id))!).toMatchObject({ status: 'queued', runAt });
    await second.close();
  });
});

describe('dedupe keys', () => {
  it('returns the unfinished task that holds the key, and frees the key once it has finished', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    // Held at a gate, so it is certainly unfinished when the same key comes again.
    const first = await rt.submit('gated', { gate: 'report', result: 1 }, { key: 'report:2026' });
    const again = await rt.submit('gated', { gate: 'other', result: 2 }, { key: 'report:2026' });
    expect(again.id).toBe(first.id);
    expect((await rt.stats()).total).toBe(1);
    gates.open('report');
    expect(await again.result()).toBe(1);
    const afterwards = await rt.submit('echo', 3, { key: 'report:2026' });
    expect(afterwards.id).not.toBe(first.id);
    expect(await afterwards.result()).toBe(3);
    await rt.close();
  });

  it('dedupes within one submitMany and across a restart', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database });
    const [a, b] = await first.submitMany([
      { type: 'echo', payload: 1, options: { key: 'k', runAt: Date.now() + 60_000 } },
      { type: 'echo', payload: 2, options: { key: 'k' } },
    ]);
    expect(b!.id).toBe(a!.id);
    await first.close();
    const second = await openRuntime({ database });
    expect((await second.submit('echo', 3, { key: 'k' })).id).toBe(a!.id);
    await second.cancel(a!.id);
    await second.close();
  });
});

describe('durable checkpoints', () => {
  it('a run after a crash starts from the state the last run saved', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const handle = await rt.submit('resumable', { steps: 10, crashAfter: 6 }, { retries: 1 });
    expect(await handle.result()).toEqual({ startedFrom: 6, attempt: 2 });
    await rt.close();
  });

  it('a run after a host restart starts from the saved state', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database, services: { gate: () => new Promise(() => {}) } });
    const saved = nextEvent(first.events$, 'progress');
    const handle = await first.submit('checkpointThenWait', { gate: 'g' });
    await saved; // the checkpoint was posted before this progress
    await first.close({ graceful: false });
    const second = await openRuntime({ database, services: { gate: async () => {} } });
    const done = nextEvent(second.events$, 'completed', handle.id);
    expect((await done).result).toEqual({ startedFrom: 5, attempt: 2 });
    await second.close();
  });

});
