import { describe, expect, it, vi } from 'vitest';
import { Gates, openRuntime, record, submitAtGate, tempDatabase } from '../helpers.js';

describe('setPriority', () => {
  it('moves a queued task ahead of others and keeps it on the row', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const events = record(rt.events$);
    await submitAtGate(rt, { gate: 'b' });
    const a = await rt.submit('echo', 'a');
    const b = await rt.submit('echo', 'b');
    const c = await rt.submit('echo', 'c', { priority: 'low' });
    await rt.setPriority(c.id, 'high');
    expect((await rt.get(c.id))!.priority).toBe('high');
    gates.open('b');
    await rt.whenIdle();
    const order = events.filter((e) => e.type === 'started').map((e) => e.taskId);
    expect(order.slice(1)).toEqual([c.id, a.id, b.id]);
    await rt.close();
  });

  it('rejects a started or finished task with ERR_INVALID_TRANSITION and a bad priority with ERR_INVALID_OPTION', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const running = await submitAtGate(rt, { gate: 'g' });
    await expect(rt.setPriority(running.id, 'high')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await expect(rt.setPriority(running.id, 'urgent' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    gates.open('g');
    await running.result();
    await expect(rt.setPriority(running.id, 'low')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await rt.close();
  });

  it('changes the priority of a paused task, kept across a restart', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'b' });
    const held = await rt.submit('echo', 'x', { priority: 'low' });
    await rt.pause(held.id);
    await rt.setPriority(held.id, 'high');
    await rt.close({ graceful: false });
    const reopened = await openRuntime({ database, services: { gate: async () => {} } });
    expect((await reopened.get(held.id))!).toMatchObject({ status: 'paused', priority: 'high' });
    await reopened.cancelMany();
    await reopened.close();
  });
});

describe('aging', () => {
  it('lets a low-priority task that waited two agingMs periods go before later high-priority ones', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, agingMs: 60_000, services: gates.services });
    const events = record(rt.events$);
    // The host's clock is faked (the worker threads are real): two aging periods pass at
    // once, without sleeping. Faked before any task is queued, so aging arms a fake timer.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      await submitAtGate(rt, { gate: 'b' });
      const low = await rt.submit('echo', 'low', { priority: 'low' });
      const normal = await rt.submit('echo', 'normal');
      vi.advanceTimersByTime(120_001);
      const highs = await rt.submitMany(Array.from({ length: 3 }, () => ({ type: 'echo', payload: 'high', options: { priority: 'high' as const } })));
      vi.useRealTimers();
      gates.open('b');
      await rt.whenIdle();
      const order = events.filter((e) => e.type === 'started').map((e) => e.taskId).slice(1);
      // Both waiting tasks reached 'high' (low after two periods, normal after one, capped),
      // and equal ranks go in submit order: they are first.
      expect(order).toEqual([low.id, normal.id, ...highs.map((h) => h.id)]);
      // The stored priority is what was asked for; aging only changes the order.
      expect((await rt.get(low.id))!.priority).toBe('low');
    } finally {
      vi.useRealTimers();
    }
    await rt.close();
  });
});

describe('batch operations', () => {
  it('cancelMany, pauseMany and resumeMany change the matching tasks and say how many', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'b' });
    await rt.submitMany([
      ...Array.from({ length: 4 }, () => ({ type: 'echo', payload: 1 })),
      ...Array.from({ length: 3 }, () => ({ type: 'add', payload: { a: 1, b: 1 } })),
    ]);
    expect(await rt.pauseMany({ type: 'echo' })).toBe(4);
    expect(await rt.pauseMany({ type: 'echo' })).toBe(0); // already paused
    expect((await rt.stats()).paused).toBe(4);
    expect(await rt.cancelMany({ type: 'add', status: 'queued' })).toBe(3);
    expect((await rt.stats()).cancelled).toBe(3);
    expect(await rt.resumeMany({ status: 'paused' })).toBe(4);
    gates.open('b');
    await rt.whenIdle();
    expect(await rt.stats()).toMatchObject({ completed: 5, cancelled: 3, paused: 0, queued: 0 });
    await rt.close();
  });
});

describe('batch operations, counting', () => {
  it('counts the children a cancelled parent takes along, and not a task already being cancelled', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services, cancelGraceMs: 10 });
    const running = await submitAtGate(rt, { gate: 'never' });
    const parent = await rt.submit('echo', 'p');
    await rt.submit('echo', 'c', { dependsOn: [parent.id] });
    const cancelling = rt.cancel(running.id);
    // running is already being cancelled: not counted; parent and its child: 2.
    expect(await rt.cancelMany()).toBe(2);
    await cancelling;
    expect(await rt.stats()).toMatchObject({ cancelled: 3, queued: 0 });
    await rt.close();
  });
});
