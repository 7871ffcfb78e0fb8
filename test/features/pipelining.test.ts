/**
 * A thread's next call is sent ahead (queued behind its current call) when it is expected to
 * be short (a lone task of a type known to take <= 10 ms, or a batch of short tasks): the
 * thread does not wait for a round trip between calls.
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
