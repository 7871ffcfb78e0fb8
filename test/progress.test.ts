import { describe, expect, it } from 'vitest';
import { nextEvent, openRuntime, record, Gates, submitAtGate } from './helpers.js';

describe('progress', () => {
  it('delivers every update when the interval is 0, in order, with messages', async () => {
    const rt = await openRuntime({ progressIntervalMs: 0 });
    const events = record(rt.events$);
    const handle = await rt.submit('steps', { count: 5 });
    await handle.result();
    const progress = events.filter((e) => e.type === 'progress' && e.taskId === handle.id);
    expect(progress.map((e) => (e as { progress: number }).progress)).toEqual([20, 40, 60, 80, 100]);
    expect((progress.at(-1) as { message: string }).message).toBe('step 5 of 5');
    await rt.close();
  });

  it('coalesces a flood of updates and always delivers the last one', async () => {
    const rt = await openRuntime({ progressIntervalMs: 60_000 });
    const events = record(rt.events$);
    const handle = await rt.submit('progressFlood', { count: 100_000 });
    await handle.result();
    const progress = events.filter((e) => e.type === 'progress') as Array<{ progress: number; message: string }>;
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ progress: 99, message: 'update 100000' });
    // The last progress event comes before the completion.
    expect(events.findIndex((e) => e.type === 'completed')).toBeGreaterThan(events.lastIndexOf(progress.at(-1) as never));
    expect(await rt.get(handle.id)).toMatchObject({ progress: 100, status: 'completed' });
    await rt.close();
  });

  it('keeps the latest progress on the row while the task runs', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const handle = await submitAtGate(rt, { gate: 'g' });
    expect((await rt.list({ status: 'running' }))[0]).toMatchObject({ id: handle.id, progress: 10, progressMessage: 'waiting at the gate' });
    gates.open('g');
    await handle.result();
    await rt.close();
  });

  it('the main thread keeps serving while a worker does CPU-heavy work', async () => {
    const rt = await openRuntime({ concurrency: 1, progressIntervalMs: 0 });
    const started = nextEvent(rt.events$, 'started');
    const handle = await rt.submit('busy', { rounds: 40 });
    await started;
    let turns = 0;
    let done = false;
    const result = handle.result().finally(() => (done = true));
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    await result;
    // Had the handler run on this thread, no turn of the event loop could pass until it ended.
    expect(turns).toBeGreaterThan(10);
    await rt.close();
  });
});
