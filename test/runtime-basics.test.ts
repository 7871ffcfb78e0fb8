import { describe, expect, it } from 'vitest';
import { Gates, openRuntime, record, submitAtGate } from './helpers.js';

describe('submit and result', () => {
  it('runs a task on a worker thread and resolves its result', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const handle = await rt.submit('add', { a: 2, b: 3 });
    expect(await handle.result()).toBe(5);
    const task = await rt.get(handle.id);
    expect(task).toMatchObject({ type: 'add', status: 'completed', progress: 100, result: 5, error: null, attempts: 1 });
    expect(task!.startedAt).toBeGreaterThanOrEqual(task!.createdAt);
    expect(task!.completedAt).toBeGreaterThanOrEqual(task!.startedAt!);
    await rt.close();
  });

  it('answers result() of a task that has already finished, as often as asked', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const ok = await rt.submit('echo', { n: 1 });
    const bad = await rt.submit('fail', 'boom');
    const nothing = await rt.submit('noop');
    await rt.whenIdle();
    const first = await ok.result();
    const second = await ok.result();
    expect(first).toEqual({ n: 1 });
    // Each call gets its own copy: changing one answer does not change the next.
    expect(second).not.toBe(first);
    await expect(bad.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', taskId: bad.id });
    expect(await nothing.result()).toBeUndefined();
    // The row says the same as the answers.
    expect(await rt.get(ok.id)).toMatchObject({ status: 'completed', result: { n: 1 } });
    expect(await rt.get(bad.id)).toMatchObject({ status: 'failed' });
    await rt.close();
    await expect(ok.result()).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
  });

  it('keeps name, description and priority on the row', async () => {
    const rt = await openRuntime();
    const handle = await rt.submit('echo', { x: 1 }, { name: 'n', description: 'd', priority: 'high' });
    await handle.result();
    expect(await rt.get(handle.id)).toMatchObject({ name: 'n', description: 'd', priority: 'high', payload: { x: 1 } });
    await rt.close();
  });

  it('lists the defineTask exports as task types and nothing else', async () => {
    const rt = await openRuntime();
    expect(rt.taskTypes).toContain('noop');
    expect(rt.taskTypes).not.toContain('helper');
    await rt.close();
  });

  it('round-trips structured-clone values (Date, Map, typed arrays)', async () => {
    const rt = await openRuntime();
    const payload = { when: new Date(1_700_000_000_000), map: new Map([['k', 1]]), bytes: new Uint8Array([1, 2, 3]) };
    const handle = await rt.submit('echo', payload);
    expect(await handle.result()).toEqual(payload);
    await rt.close();
  });

  it('runs many tasks, each exactly once, whatever the batching', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const handles = await rt.submitMany(Array.from({ length: 500 }, (_, i) => ({ type: 'echo', payload: i })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(await rt.stats()).toEqual({ total: 500, queued: 0, running: 0, paused: 0, completed: 500, failed: 0, cancelled: 0 });
    const rows = await rt.list({ status: 'completed', limit: 1000 });
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    await rt.close();
  });
});

describe('priorities and dispatch', () => {
  it('runs high before normal before low, FIFO within a priority', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const events = record(rt.events$);
    await submitAtGate(rt, { gate: 'blocker' });
    const order = [
      ['low', 'low-1'],
      ['normal', 'normal-1'],
      ['high', 'high-1'],
      ['low', 'low-2'],
      ['high', 'high-2'],
      ['normal', 'normal-2'],
    ] as const;
    const handles = new Map<string, string>();
    for (const [priority, name] of order) {
      const handle = await rt.submit('echo', name, { priority });
      handles.set(handle.id, name);
    }
    gates.open('blocker');
    await rt.whenIdle();
    const started = events.filter((e) => e.type === 'started' && handles.has(e.taskId)).map((e) => handles.get(e.taskId));
    expect(started).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2']);
    await rt.close();
  });

  it('never runs more than `concurrency` tasks at once', async () => {
    const gates = new Gates();
    // Counted where the handlers run, not from events: tasks that share a call report their
    // ends when the call returns (docs/performance.md, "How it is fast"), so events may show
    // a batched task running a little after its thread has moved on to the next.
    let running = 0;
    let most = 0;
    const services = {
      ...gates.services,
      enter: () => void (most = Math.max(most, ++running)),
      leave: () => void running--,
    };
    const rt = await openRuntime({ concurrency: 2, services });
    const twoStarted = new Promise<void>((resolve) => {
      let n = 0;
      rt.events$.subscribe((e) => e.type === 'progress' && ++n === 2 && resolve());
    });
    const handles = await rt.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'countedGate', payload: { gate: `g${i}` } })));
    await twoStarted;
    expect(await rt.stats()).toMatchObject({ running: 2, queued: 3 });
    for (let i = 0; i < 5; i++) gates.open(`g${i}`);
    await Promise.all(handles.map((h) => h.result()));
    expect(most).toBe(2);
    await rt.close();
  });

  it('whenIdle resolves once nothing is queued or running', async () => {
    const rt = await openRuntime();
    await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'noop' })));
    await rt.whenIdle();
    expect(await rt.stats()).toMatchObject({ queued: 0, running: 0, completed: 20 });
    await rt.close();
  });
});

describe('host services', () => {
  it('lets a handler call host functions through ctx.host', async () => {
    const rt = await openRuntime({ services: { multiply: (a: number, b: number) => a * b } });
    const handle = await rt.submit('callHost', { a: 6, b: 7 });
    expect(await handle.result()).toBe(42);
    await rt.close();
  });
});
