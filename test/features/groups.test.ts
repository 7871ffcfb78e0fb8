/**
 * Groups: round-robin across groups within a priority (src/scheduler/fair-turns.ts), kept
 * across a restart.
 */
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { Gates, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';

describe('groups', () => {
  it('a small group is not starved by a big one queued before it: its tasks all finish before the big one\'s 20th', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    // The thread is held, so every task below is queued before any of them starts.
    await submitAtGate(rt, { gate: 'hold' });
    const big = await rt.submitMany(Array.from({ length: 2000 }, (_, i) => ({ type: 'echo', payload: i, options: { group: 'big' } })));
    const small = await rt.submitMany(Array.from({ length: 10 }, (_, i) => ({ type: 'echo', payload: i, options: { group: 'small' } })));
    const ended = firstValueFrom(
      rt.events$.pipe(
        filter((event) => event.type === 'completed' && event.taskType === 'echo'),
        take(2010),
        toArray(),
      ),
    );
    gates.open('hold');
    const order = (await ended).map((event) => event.taskId);
    const smallIds = new Set(small.map((handle) => handle.id));
    const lastSmall = Math.max(...order.map((id, i) => (smallIds.has(id) ? i : -1)));
    const bigBefore = order.slice(0, lastSmall).filter((id) => !smallIds.has(id)).length;
    expect(bigBefore, `the small group's last task ended after ${bigBefore} of the big group's`).toBeLessThan(20);
    expect(order).toHaveLength(2010);
    expect((await rt.get(big[0]!.id))?.group).toBe('big');
    await rt.close();
  });

  it('within a group, and without groups, tasks keep submit order; a task keeps its group across a restart', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ database, concurrency: 1, services: gates.services });
    await submitAtGate(first, { gate: 'hold' });
    const a = await first.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: `a${i}`, options: { group: 'a' } })));
    const plain = await first.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: `p${i}` })));
    await first.close({ graceful: false });
    const second = await openRuntime({ database, concurrency: 1 });
    const started = firstValueFrom(second.events$.pipe(filter((e) => e.type === 'started' && e.taskType === 'echo'), take(10), toArray()));
    const order = (await started).map((event) => event.taskId);
    // Two groups (a, and the tasks without one), each in its own submit order, alternating.
    expect(order.filter((id) => a.some((h) => h.id === id))).toEqual(a.map((h) => h.id));
    expect(order.filter((id) => plain.some((h) => h.id === id))).toEqual(plain.map((h) => h.id));
    expect((await second.get(a[0]!.id))?.group).toBe('a');
    expect((await second.get(plain[0]!.id))?.group).toBeNull();
    await second.whenIdle();
    await second.close();
  });

  it('refuses a group that is not a non-empty string', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    await expect(rt.submit('echo', 1, { group: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(rt.submit('echo', 1, { group: 7 as unknown as string })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await rt.close();
  });
});
