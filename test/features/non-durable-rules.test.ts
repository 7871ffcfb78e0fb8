/**
 * Tasks that are not stored (durable: false), with stored ones: one list and its paging,
 * where the option comes from, what they may depend on, keys, schedules, and the order of
 * their ends among stored ends.
 */
import { describe, expect, it } from 'vitest';
import type { TaskEvent } from 'offthread';
import { Gates, openRuntime, record, submitAtGate } from '../helpers.js';

const UNSTORED_HANDLERS = new URL('../fixtures/unstored-handlers.js', import.meta.url);

describe('tasks that are not durable among stored ones', () => {
  it('list() merges both newest first, and pages with `before` naming either kind', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'g' });
    const durableOf = new Map<string, boolean>();
    for (let i = 0; i < 12; i++) {
      const durable = i % 3 !== 0;
      durableOf.set((await rt.submit('echo', i, { durable })).id, durable);
    }
    const all = await rt.list({ type: 'echo' });
    expect(new Set(all.map((task) => task.id))).toEqual(new Set(durableOf.keys()));
    // Newest first: by creation time; within one millisecond stored rows come first.
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!];
      expect(a.createdAt).toBeGreaterThanOrEqual(b.createdAt);
      if (a.createdAt === b.createdAt) expect(durableOf.get(a.id)! || !durableOf.get(b.id)!).toBe(true);
    }
    // Pages of 5, 5 and 2, each after the last task of the page before, whatever its kind.
    const paged: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await rt.list({ type: 'echo', limit: 5, ...(before === undefined ? {} : { before }) });
      paged.push(...page.map((task) => task.id));
      if (page.length < 5) break;
      before = page.at(-1)!.id;
    }
    expect(paged).toEqual(all.map((task) => task.id));
    // An offset counts over both kinds, and `before` a task that is not stored works too.
    expect((await rt.list({ type: 'echo', limit: 4, offset: 3 })).map((task) => task.id)).toEqual(paged.slice(3, 7));
    const unstored = paged.findIndex((id) => !durableOf.get(id));
    expect((await rt.list({ type: 'echo', before: paged[unstored]! })).map((task) => task.id)).toEqual(paged.slice(unstored + 1));
    gates.open('g');
    await rt.whenIdle();
    // Once finished they are gone, and a page after one of them is ERR_TASK_NOT_FOUND.
    expect((await rt.list({ type: 'echo' })).map((task) => task.id)).toEqual(paged.filter((id) => durableOf.get(id)));
    await expect(rt.list({ before: paged[unstored]! })).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await rt.close();
  });

  it('holds its payload to maxPayloadBytes, as a stored task', async () => {
    const rt = await openRuntime({ maxPayloadBytes: 100 });
    await expect(rt.submit('echo', 'x'.repeat(200), { durable: false })).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
    await expect(rt.submit('echo', { list: Array.from({ length: 2000 }, (_, i) => i) }, { durable: false })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
    });
    expect(await (await rt.submit('echo', 'small', { durable: false })).result()).toBe('small');
    await rt.close();
  });

  it("takes the submit's durable, then the type's, then the runtime's", async () => {
    const rt = await openRuntime({ handlers: UNSTORED_HANDLERS, durable: false });
    const handles = {
      plain: await rt.submit('plain', 1), // the runtime's: not stored
      memo: await rt.submit('memo', 2), // the type's: not stored
      kept: await rt.submit('kept', 3), // the type's: stored, over the runtime's
      memoKept: await rt.submit('memo', 4, { durable: true }), // the submit's, over the type's
      plainKept: await rt.submit('plain', 5, { durable: true }),
    };
    const [many] = await rt.submitMany([{ type: 'kept', payload: 6, options: { durable: false } }]);
    for (const handle of [...Object.values(handles), many!]) await handle.result();
    await rt.whenIdle();
    const stored = new Set((await rt.list()).map((task) => task.id));
    expect(stored).toEqual(new Set([handles.kept.id, handles.memoKept.id, handles.plainKept.id]));
    await rt.close();
  });

  it('refuses a durable that is not a boolean, and a durable task that depends on one that is not', async () => {
    await expect(openRuntime({ durable: 'no' as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durable' });
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await expect(rt.submit('noop', undefined, { durable: 1 as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durable' });
    // Its payload is checked as a stored one's is, though it is never encoded for the store.
    await expect(rt.submit('echo', { fn: () => 1 }, { durable: false })).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    await expect(rt.submit('echo', 'x'.repeat(64), { durable: false })).resolves.toBeDefined();
    await submitAtGate(rt, { gate: 'g' });
    const parent = await rt.submit('add', { a: 1, b: 2 }, { durable: false });
    const storedParent = await rt.submit('add', { a: 3, b: 4 });
    await expect(rt.submit('sumDependencies', undefined, { dependsOn: [parent.id] })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'dependsOn',
    });
    await expect(rt.submitMany([{ type: 'sumDependencies', options: { dependsOn: [parent.id] } }])).rejects.toMatchObject({ option: 'dependsOn' });
    // One that is not stored may wait for either kind.
    const child = await rt.submit('sumDependencies', undefined, { dependsOn: [parent.id, storedParent.id], durable: false });
    gates.open('g');
    expect(await child.result()).toBe(10);
    await rt.close();
  });

  it('holds its dedupe key while it lives, and frees it when it ends', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'g' });
    const first = await rt.submit('echo', 1, { key: 'k', durable: false });
    expect((await rt.submit('echo', 2, { key: 'k', durable: false })).id).toBe(first.id);
    // Whatever the durability asked for, the holder is answered.
    expect((await rt.submit('echo', 3, { key: 'k' })).id).toBe(first.id);
    gates.open('g');
    expect(await first.result()).toBe(1);
    const next = await rt.submit('echo', 4, { key: 'k', durable: false });
    expect(next.id).not.toBe(first.id);
    expect(await next.result()).toBe(4);
    await rt.close();
  });

  it('a schedule may submit tasks that are not stored', async () => {
    const rt = await openRuntime();
    await rt.schedule('nightly', '0 0 3 * * *', 'echo', 'tick', { durable: false });
    const handle = await rt.runSchedule('nightly');
    expect(await handle.result()).toBe('tick');
    await rt.whenIdle();
    expect(await rt.get(handle.id)).toBeUndefined();
    expect(await rt.stats()).toMatchObject({ total: 0 });
    await rt.close();
  });

  it('tells ends of both kinds in the order they happened, and whenIdle() after the last', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const events = record(rt.events$);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await rt.submit('echo', i, { durable: i % 2 === 0 })).id);
    await rt.whenIdle();
    const ends = events.filter((event): event is Extract<TaskEvent, { type: 'completed' }> => event.type === 'completed');
    // One thread runs them in submit order: the ends are told in that order, stored or not.
    expect(ends.map((event) => event.taskId)).toEqual(ids);
    for (const id of ids) {
      const mine = events.filter((event) => event.taskId === id).map((event) => event.type);
      expect(mine).toEqual(['created', 'started', 'completed']);
    }
    await rt.close();
  });
});
