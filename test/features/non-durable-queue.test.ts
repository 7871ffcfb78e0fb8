/**
 * Tasks that are not stored (durable: false) on a queue that several hosts share
 * (PostgreSQL): no row, so only the host that submitted one can run it, and a host that
 * runs nothing refuses it.
 */
import { describe, expect, it } from 'vitest';
import { Gates, nextEvent, openRuntime, record } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';

describe('a task that is not durable on a shared queue', () => {
  it('runs on the host that submitted it, unseen by the others', async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const here = await openRuntime({ database, concurrency: 1, services: gates.services });
    const there = await openRuntime({ database, concurrency: 1 });
    const seenThere = record(there.events$);
    const waiting = nextEvent(here.events$, 'progress');
    const held = await here.submit('gated', { gate: 'g', result: 'mine' }, { durable: false });
    await waiting;
    const queued = await here.submit('echo', 'queued', { durable: false });
    expect(await here.get(queued.id)).toMatchObject({ status: 'queued' });
    expect(await here.stats()).toMatchObject({ total: 2, running: 1, queued: 1 });
    expect(new Set((await here.list()).map((task) => task.id))).toEqual(new Set([held.id, queued.id]));
    // The other host's thread is free, yet it never sees them: no row to claim.
    expect(await there.get(queued.id)).toBeUndefined();
    expect(await there.stats()).toMatchObject({ total: 0 });
    gates.open('g');
    expect(await held.result()).toBe('mine');
    expect(await queued.result()).toBe('queued');
    // A stored task beside them still goes through the queue, and is told to every host.
    const stored = await here.submit('echo', 'stored');
    const told = nextEvent(there.events$, 'completed', stored.id);
    expect(await stored.result()).toBe('stored');
    await told;
    expect(seenThere.some((event) => event.taskId === held.id || event.taskId === queued.id)).toBe(false);
    expect(there.metrics().types.echo?.completed ?? 0).toBeLessThanOrEqual(1);
    expect(here.metrics().types.gated).toMatchObject({ completed: 1 });
    expect(await here.get(queued.id)).toBeUndefined();
    await there.close();
    await here.close();
  });

  it('a producer-only host refuses it: at open, on submit, in submitMany and in a schedule', async () => {
    const database = await freshDatabase();
    await expect(openRuntime({ database, concurrency: 0, durable: false })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durable' });
    const producer = await openRuntime({ database, concurrency: 0 });
    await expect(producer.submit('echo', 1, { durable: false })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durable' });
    await expect(producer.submitMany([{ type: 'echo' }, { type: 'echo', options: { durable: false } }])).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'items[1].options.durable',
    });
    await expect(producer.schedule('s', '0 0 3 * * *', 'echo', 1, { durable: false })).rejects.toMatchObject({ option: 'durable' });
    expect(await producer.stats()).toMatchObject({ total: 0 });
    await producer.close();
  });
});
