/**
 * A thread's next call is sent ahead (queued behind its current call) when it is expected to
 * be short (tasks of types known to take <= 10 ms together, or a batch of short tasks): the
 * thread does not wait for a round trip between calls. A task that outranks tasks handed to a
 * thread but not started takes their place.
 */
import { describe, expect, it } from 'vitest';
import { Gates, openRuntime, record, submitAtGate, tempDatabase } from '../helpers.js';

describe('tasks sent ahead', () => {
  it('run once each, announced as started before they complete', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const events = record(rt.events$);
    await (await rt.submit('sleeper', { ms: 2 })).result(); // its type's length is known now
    const handles = await rt.submitMany(Array.from({ length: 40 }, () => ({ type: 'sleeper', payload: { ms: 2 } })));
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual(Array(40).fill(2));
    for (const { id } of handles) {
      const mine = events.filter((e) => e.taskId === id).map((e) => e.type);
      expect(mine.filter((t) => t === 'started')).toHaveLength(1);
      expect(mine.indexOf('started')).toBeLessThan(mine.indexOf('completed'));
      const row = (await rt.get(id))!;
      expect(row).toMatchObject({ status: 'completed', attempts: 1 });
      expect(row.startedAt).toBeLessThanOrEqual(row.completedAt!);
    }
    await rt.close();
  });

  it('are taken back when the task ahead of them sleeps at a checkpoint, so a graceful close does not wait for them', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    await (await rt.submit('sleeper', { ms: 3 })).result();
    const sleeper = await submitAtGate(rt, { gate: 'a' }); // runs on the only thread, at its gate
    const behind = await rt.submit('sleeper', { ms: 3 }); // sent ahead, behind it
    const pausing = rt.pause(sleeper.id);
    gates.open('a');
    await pausing; // it sleeps at its checkpoint, holding the thread
    await rt.close(); // would wait forever for `behind` had it stayed queued on that thread
    const again = await openRuntime({ database, concurrency: 1, services: gates.services });
    expect(await again.get(behind.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await again.get(sleeper.id)).toMatchObject({ status: 'paused' });
    await again.close({ graceful: false });
  });

  it('a batch sent ahead is taken back the same way', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    await (await rt.submit('sleeper', { ms: 0 })).result(); // known to be short: batched from now on
    const sleeper = await submitAtGate(rt, { gate: 'a' });
    const behind = await rt.submitMany(Array.from({ length: 5 }, () => ({ type: 'sleeper', payload: { ms: 0 } })));
    const pausing = rt.pause(sleeper.id);
    gates.open('a');
    await pausing;
    await rt.close(); // would wait forever for the batch had it stayed queued on that thread
    const again = await openRuntime({ database, concurrency: 1, services: gates.services });
    for (const { id } of behind) expect(await again.get(id)).toMatchObject({ status: 'queued', attempts: 0 });
    await again.close({ graceful: false });
  });

  it('a higher-priority task takes the place of tasks handed to a thread but not started', async () => {
    const gates = new Gates();
    const order: string[] = [];
    const services = { ...gates.services, note: (name: string) => void order.push(name) };
    const rt = await openRuntime({ concurrency: 1, services });
    await (await rt.submit('noted', { name: 'warm', ms: 3 })).result(); // its length is known: sent ahead from now on
    const running = await submitAtGate(rt, { gate: 'a' }); // holds the only thread
    const low = await rt.submitMany(
      ['l1', 'l2', 'l3'].map((name) => ({ type: 'noted', payload: { name, ms: 3 }, options: { priority: 'low' as const } })),
    ); // the first two sent ahead together, queued on the thread behind the gated task
    const urgent = await rt.submit('noted', { name: 'urgent' }, { priority: 'high' });
    gates.open('a');
    expect(await urgent.result()).toBe('urgent');
    expect(await Promise.all(low.map((h) => h.result()))).toEqual(['l1', 'l2', 'l3']);
    await running.result();
    expect(order).toEqual(['warm', 'urgent', 'l1', 'l2', 'l3']);
    for (const { id } of low) expect(await rt.get(id)).toMatchObject({ status: 'completed', attempts: 1 });
    await rt.close();
  });

  it('a task paused while it waits in a call sent ahead is held, and runs once resumed', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await (await rt.submit('sleeper', { ms: 3 })).result();
    const running = await submitAtGate(rt, { gate: 'a' });
    const [first, second] = await rt.submitMany([
      { type: 'sleeper', payload: { ms: 3 } },
      { type: 'sleeper', payload: { ms: 3 } },
    ]); // sent ahead together, behind the gated task
    await rt.pause(second!.id);
    expect(await rt.get(second!.id)).toMatchObject({ status: 'paused', attempts: 0 });
    gates.open('a');
    expect(await first!.result()).toBe(3);
    await running.result();
    expect(await rt.get(second!.id)).toMatchObject({ status: 'paused', attempts: 0 });
    await rt.resume(second!.id);
    expect(await second!.result()).toBe(3);
    expect(await rt.get(second!.id)).toMatchObject({ status: 'completed', attempts: 1 });
    await rt.close();
  });

  it('a read finds running a task its thread began without a word (in a batch), and its end keeps the thread’s start time', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await (await rt.submit('silentGate', {})).result(); // known to be short: batched from now on
    const [first, second] = await rt.submitMany([
      { type: 'silentGate', payload: { gate: 'a' } },
      { type: 'silentGate', payload: {} },
    ]);
    await gates.reached('a'); // the thread is inside the first task; the second waits behind it
    const readAt = Date.now();
    expect(await rt.get(first!.id)).toMatchObject({ status: 'running', attempts: 1 });
    expect(await rt.get(second!.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect((await rt.stats()).running).toBe(1);
    gates.open('a');
    expect(await first!.result()).toBe('a');
    const row = (await rt.get(first!.id))!;
    expect(row).toMatchObject({ status: 'completed', attempts: 1 });
    expect(row.startedAt).toBeLessThanOrEqual(readAt); // the thread's start, not the read's
    await rt.close();
  });
});
