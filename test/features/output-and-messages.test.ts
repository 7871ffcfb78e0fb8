/**
 * A running task's two live channels: `ctx.emit` -> `output$` (every value, in order, with
 * back-pressure) and `rt.send` -> `ctx.messages`.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { Gates, openRuntime } from '../helpers.js';

const all = <T>(values$: import('rxjs').Observable<T>) => lastValueFrom(values$.pipe(toArray()), { defaultValue: [] as T[] });

describe('output$ (ctx.emit)', () => {
  it('hands on every value, in order, and completes once the task has ended', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const handle = await rt.submit('streamer', { count: 2000 });
    const values = await all(handle.output$);
    expect(values).toEqual(Array.from({ length: 2000 }, (_, i) => ({ i })));
    expect(await handle.result()).toBe(2000);
    await rt.close();
  });

  it('keeps the values emitted before anyone reads for the first reader, even after the end', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const handle = await rt.submit('streamer', { count: 10 });
    expect(await handle.result()).toBe(10);
    expect(await all(handle.output$)).toHaveLength(10);
    // What waited went to the first reader: a second one sees the end only.
    expect(await all(handle.output$)).toEqual([]);
    await rt.close();
  });

  it('errors with the failure, after the values emitted before it', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const handle = await rt.submit('streamer', { count: 5, failAfter: 3 });
    const values: unknown[] = [];
    const error = await new Promise((resolve) => handle.output$.subscribe({ next: (v) => values.push(v), error: resolve }));
    expect(values).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED' });
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    await rt.close();
  });

  it('makes a handler wait at ctx.emit once 64 values wait for a reader, and go on once they are read', async () => {
    const log: string[] = [];
    const marks = new Map<string, () => void>();
    const mark = (what: string) => new Promise<void>((resolve) => marks.set(what, resolve));
    const rt = await openRuntime({
      concurrency: 1,
      services: {
        mark: (what: string) => {
          log.push(what);
          marks.get(what)?.();
        },
      },
    });
    const calling63 = mark('calling 63');
    const handle = await rt.submit('watchedStreamer', { count: 200, watch: [62, 63] });
    await calling63;
    // Nobody reads: the 64th value (63) is sent, and its emit waits for room. Three round
    // trips through the thread: an emit that did not wait would have let it say so by now.
    for (const ping of ['1', '2', '3']) {
      const pong = mark(`pong ${ping}`);
      await rt.send(handle.id, ping);
      await pong;
    }
    log.push('subscribed');
    const values = await all(handle.output$);
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(log).toEqual(['calling 62', 'passed 62', 'calling 63', 'pong 1', 'pong 2', 'pong 3', 'subscribed', 'passed 63']);
    await rt.close();
  });

  it('a cancel reaches a handler waiting for room; output$ errors with ERR_TASK_CANCELLED', async () => {
    let reached!: () => void;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const rt = await openRuntime({ concurrency: 1, services: { mark: (what: string) => what === 'calling 63' && reached() } });
    const handle = await rt.submit('watchedStreamer', { count: 1000, watch: [63] });
    await waiting;
    await rt.cancel(handle.id);
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    // The 64 values that waited, then the cancel.
    const values: unknown[] = [];
    const error = await new Promise((resolve) => handle.output$.subscribe({ next: (v) => values.push(v), error: resolve }));
    expect(values).toHaveLength(64);
    expect(error).toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await rt.close();
  });

  it('rt.output$(id): by id, while it runs or after it ended; an unknown id is ERR_TASK_NOT_FOUND', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const handle = await rt.submit('streamer', { count: 3 });
    expect(await all(rt.output$(handle.id))).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await all(rt.output$(handle.id))).toEqual([]);
    await expect(firstValueFrom(rt.output$('00000000-0000-4000-8000-000000000000'))).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await rt.close();
  });
});

describe('rt.send (ctx.messages)', () => {
  it('delivers messages in order, those sent before the handler reads included', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const handle = await rt.submit('listener', { gate: 'g' });
    await gates.reached('g');
    // Running, not reading yet: these wait for it.
    await rt.send(handle.id, 'a');
    await rt.send(handle.id, { b: [1, 2] });
    gates.open('g');
    await rt.send(handle.id, new Map([['c', 3]]));
    await rt.send(handle.id, 'stop');
    expect(await handle.result()).toEqual(['a', { b: [1, 2] }, new Map([['c', 3]])]);
    await rt.close();
  });

  it('refuses a task that is not running, an unknown id and a message that cannot be cloned', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const running = await rt.submit('listener', { gate: 'g' });
    await gates.reached('g');
    const queued = await rt.submit('noop');
    await expect(rt.send(queued.id, 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await expect(rt.send(running.id, () => 1)).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    await expect(rt.send('00000000-0000-4000-8000-000000000000', 'x')).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    gates.open('g');
    await rt.send(running.id, 'stop');
    expect(await running.result()).toEqual([]);
    await queued.result();
    await expect(rt.send(running.id, 'late')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await rt.close();
  });
});
