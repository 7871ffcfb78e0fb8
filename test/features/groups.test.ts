/**
 * Groups: round-robin across groups within a priority (src/scheduler/fair-turns.ts), kept
 * across a restart.
 */
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import type { TaskHandle, TaskRuntime } from 'offthread';
import { Gates, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';

const RATED = new URL('../fixtures/rated-handlers.js', import.meta.url);

describe('groups', () => {
  /**
   * With the one thread held at a gate: 2,000 echo tasks of group `big` queued, then 10 of
   * group `small`, then the gate opened. Answers how many of the big group's tasks ended
   * before the small group's last one, and the big group's handles.
   */
  async function bigBeforeSmall(rt: TaskRuntime, gates: Gates): Promise<{ bigBefore: number; big: TaskHandle[]; ended: number }> {
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
    return { bigBefore: order.slice(0, lastSmall).filter((id) => !smallIds.has(id)).length, big, ended: order.length };
  }

  it('a small group is not starved by a big one queued before it: its tasks all finish before the big one\'s 20th', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    // The thread is held, so every task is queued before any of them starts.
    const { bigBefore, big, ended } = await bigBeforeSmall(rt, gates);
    expect(bigBefore, `the small group's last task ended after ${bigBefore} of the big group's`).toBeLessThan(20);
    expect(ended).toBe(2010);
    expect((await rt.get(big[0]!.id))?.group).toBe('big');
    await rt.close();
  });

  it('a small group also goes before a big group\'s short tasks already sent ahead to a busy thread', async () => {
    const gates = new Gates();
    // One thread: calls run in the order they are sent, so the order of their ends is the
    // order the host chose (with two, a call of the big group's on the other thread may end
    // before the one that carries the small group's tasks).
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    // Known to be short, echo tasks then travel in batches, and a call of the big group's
    // first tasks is sent ahead to the held thread, to wait behind its task.
    await rt.submitMany(Array.from({ length: 200 }, (_, i) => ({ type: 'echo', payload: i })));
    await rt.whenIdle();
    const { bigBefore } = await bigBeforeSmall(rt, gates);
    expect(bigBefore, `the small group's last task ended after ${bigBefore} of the big group's`).toBeLessThan(20);
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

  it("a group's concurrency cap holds its tasks queued while other tasks go; setGroupLimits changes it at once", async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 3, services: gates.services, groups: { default: { concurrency: 1 } } });
    const a1 = await rt.submit('gated', { gate: 'a1' }, { group: 'a' });
    const a2 = await rt.submit('gated', { gate: 'a2' }, { group: 'a' });
    await rt.submit('gated', { gate: 'b1' }, { group: 'b' });
    await gates.reached('a1');
    await gates.reached('b1');
    // A thread is free: a task behind a2 runs, while a2 waits for its group's cap.
    expect(await (await rt.submit('echo', 'free')).result()).toBe('free');
    expect((await rt.get(a2.id))?.status).toBe('queued');
    gates.open('a1');
    await a1.result();
    await gates.reached('a2');
    const a3 = await rt.submit('gated', { gate: 'a3' }, { group: 'a' });
    expect(await (await rt.submit('echo', 'again')).result()).toBe('again');
    expect((await rt.get(a3.id))?.status).toBe('queued');
    // A cap of 2 counts a2, running: a3 goes now.
    rt.setGroupLimits('a', { concurrency: 2 });
    await gates.reached('a3');
    for (const gate of ['a2', 'a3', 'b1']) gates.open(gate);
    await rt.whenIdle();
    expect(() => rt.setGroupLimits('a', { concurrency: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    await rt.close();
  });

  it('a rate holds at most count starts in its window: the rest stay queued while other tasks run; null lifts it', async () => {
    const rt = await openRuntime({ handlers: RATED, concurrency: 2, groups: { slow: { rate: { count: 2, perMs: 60_000 } } } });
    // The type's rate: 3 a minute.
    const rated = await rt.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'rated', payload: i })));
    const after = await rt.submit('echo', 'after');
    expect(await after.result()).toBe('after');
    const done = await Promise.all(rated.slice(0, 3).map((handle) => handle.result()));
    expect(done).toEqual([0, 1, 2]);
    for (const handle of rated.slice(3)) expect((await rt.get(handle.id))?.status).toBe('queued');
    // A group's rate: 2 a minute.
    const slow = await rt.submitMany(Array.from({ length: 3 }, (_, i) => ({ type: 'echo', payload: i, options: { group: 'slow' } })));
    expect(await Promise.all(slow.slice(0, 2).map((handle) => handle.result()))).toEqual([0, 1]);
    expect(await (await rt.submit('echo', 'other')).result()).toBe('other');
    expect((await rt.get(slow[2]!.id))?.status).toBe('queued');
    rt.setGroupLimits('slow', null);
    expect(await slow[2]!.result()).toBe(2);
    await rt.cancelMany({ type: 'rated' });
    await rt.close();
  });

  it('refuses bad limits: a rate without a count, an unknown key, a group that is not a string', async () => {
    await expect(openRuntime({ groups: { a: { rate: { perMs: 10 } as never } } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(openRuntime({ groups: { a: { speed: 1 } as never } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const rt = await openRuntime({ concurrency: 1 });
    expect(() => rt.setGroupLimits('', {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    await rt.close();
  });
});
