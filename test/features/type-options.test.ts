import { describe, expect, it } from 'vitest';
import { TaskRuntime } from 'offthread';
import { Gates, openRuntime, record } from '../helpers.js';

const TYPED = new URL('../fixtures/typed-handlers.js', import.meta.url);

describe('defineTask options', () => {
  it('gives a type its defaults (priority, retries, timeoutMs); a submit can override them', async () => {
    const rt = await openRuntime({ handlers: TYPED });
    const plain = await rt.submit('urgent', 1);
    expect((await rt.get(plain.id))!).toMatchObject({ priority: 'high', retries: 2, timeoutMs: 5000 });
    const overridden = await rt.submit('urgent', 2, { priority: 'low', retries: 0 });
    expect((await rt.get(overridden.id))!).toMatchObject({ priority: 'low', retries: 0, timeoutMs: 5000 });
    await rt.whenIdle();
    await rt.close();
  });

  it('caps how many tasks of a type run at once, while other types go on', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ handlers: TYPED, concurrency: 3, services: gates.services });
    const events = record(rt.events$);
    const atGate = new Promise<void>((resolve) => {
      let n = 0;
      rt.events$.subscribe((e) => e.type === 'progress' && ++n === 2 && resolve());
    });
    const handles = await rt.submitMany([
      ...[1, 2, 3].map((i) => ({ type: 'exclusive', payload: { gate: `x${i}` } })),
      { type: 'free', payload: { gate: 'f' } },
    ]);
    const exclusive = new Set(handles.slice(0, 3).map((h) => h.id));
    await atGate; // one exclusive and the free one are at their gates
    expect(await rt.stats()).toMatchObject({ running: 2, queued: 2 });
    for (const gate of ['x1', 'x2', 'x3', 'f']) gates.open(gate);
    await Promise.all(handles.map((h) => h.result()));
    let running = 0;
    let most = 0;
    for (const e of events) {
      if (!exclusive.has(e.taskId)) continue;
      if (e.type === 'started') most = Math.max(most, ++running);
      if (e.type === 'completed') running--;
    }
    expect(most).toBe(1);
    await rt.close();
  });

  it('a bad defineTask option fails the handlers module load, naming the option', async () => {
    const handlers = new URL('../fixtures/bad-type-options.js', import.meta.url);
    const error = await TaskRuntime.open({ handlers }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_HANDLERS_LOAD' });
    expect((error as Error).message).toContain('concurrency');
  });
});
