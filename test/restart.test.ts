/**
 * A reopened file's queue is loaded while its first tasks run (src/scheduler/backlog.ts):
 * the order, the commands and the submits of a host whose queue is partly still on disk.
 * The load's pace is cut to a few rows a turn, so the tests act while most rows are on disk.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Priority, TaskEvent, TaskRuntime } from 'offthread';
import { restorePace } from '../dist/src/scheduler/backlog.js';
import { Gates, openRuntime, submitAtGate, tempDatabase } from './helpers.js';

const COUNT = 2000;
const PRIORITY_CYCLE: Priority[] = ['low', 'normal', 'high', 'low', 'normal'];

interface QueuedFile {
  database: string;
  /** The queued echo tasks, in submit order. */
  ids: string[];
  priorities: Priority[];
  /** The `gated` task that held the first host's thread: queued too (normal, first of all). */
  blocker: string;
}

/** A file holding COUNT queued echo tasks of mixed priorities (and what `extra` submits), none run. */
async function queuedFile(extra?: (rt: TaskRuntime) => Promise<void>): Promise<QueuedFile> {
  const database = tempDatabase();
  const rt = await openRuntime({ database, concurrency: 1, services: new Gates().services });
  const blocker = await submitAtGate(rt, { gate: 'never' });
  const priorities = Array.from({ length: COUNT }, (_, i) => PRIORITY_CYCLE[i % PRIORITY_CYCLE.length]!);
  const handles = await rt.submitMany(priorities.map((priority, i) => ({ type: 'echo', payload: i, options: { priority } })));
  await extra?.(rt);
  await rt.close({ graceful: false });
  return { database, ids: handles.map((h) => h.id), priorities, blocker: blocker.id };
}

/** Whether the runtime still has tasks of its file on disk (internal: the test must act during the load). */
function loading(rt: TaskRuntime): boolean {
  return (rt as unknown as { tasks: { loading: boolean } }).tasks.loading;
}

function reopen(database: string, options: { concurrency?: number; agingMs?: number } = {}): Promise<TaskRuntime> {
  return openRuntime({ database, concurrency: 1, services: { gate: async () => {} }, ...options });
}

/** The ids of the tasks as they complete, and how many times each started. */
function follow(rt: TaskRuntime): { completed: string[]; starts: Map<string, number> } {
  const completed: string[] = [];
  const starts = new Map<string, number>();
  rt.events$.subscribe((e: TaskEvent) => {
    if (e.type === 'completed') completed.push(e.taskId);
    if (e.type === 'started') starts.set(e.taskId, (starts.get(e.taskId) ?? 0) + 1);
  });
  return { completed, starts };
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2 };

/** The ids in the order the heap runs them: priority, then submit order. */
function dispatchOrder(ids: readonly string[], priorityOf: (i: number) => Priority): string[] {
  return ids
    .map((id, i) => ({ id, i, rank: RANK[priorityOf(i)] }))
    .sort((a, b) => b.rank - a.rank || a.i - b.i)
    .map((t) => t.id);
}

describe('restart with a large queue', () => {
  beforeEach(() => {
    restorePace.rowsPerTurn = 16;
  });
  afterEach(() => {
    restorePace.rowsPerTurn = null;
  });

  it('starts the highest-priority task first and runs every task once, in priority order, while the rest loads', async () => {
    const file = await queuedFile();
    const rt = await reopen(file.database);
    const seen = follow(rt);
    expect(loading(rt)).toBe(true);
    await rt.whenIdle();
    expect(loading(rt)).toBe(false);
    const all = [file.blocker, ...file.ids];
    const expected = dispatchOrder(all, (i) => (i === 0 ? 'normal' : file.priorities[i - 1]!));
    expect(seen.completed).toEqual(expected);
    expect([...seen.starts.values()].every((n) => n === 1)).toBe(true);
    expect(await rt.stats()).toMatchObject({ total: COUNT + 1, completed: COUNT + 1 });
    await rt.close();
  });

  it('cancels, pauses, reprioritizes and reads tasks still on disk; they stay so once loaded', async () => {
    const file = await queuedFile();
    const lows = file.ids.filter((_, i) => file.priorities[i] === 'low');
    // Raised to high, it goes after the high tasks submitted before it, most of them still on disk.
    const raised = lows[Math.floor(lows.length / 2)]!;
    const [paused, cancelled, read] = [lows[lows.length - 3]!, lows[lows.length - 2]!, lows[lows.length - 1]!];
    const rt = await reopen(file.database);
    const seen = follow(rt);
    expect(loading(rt)).toBe(true);
    await rt.setPriority(raised, 'high');
    expect(await rt.get(read)).toMatchObject({ id: read, status: 'queued', priority: 'low' });
    await rt.cancel(cancelled);
    await rt.pause(paused);
    expect(loading(rt)).toBe(true);
    expect(await rt.get(cancelled)).toMatchObject({ status: 'cancelled' });
    expect(await rt.get(paused)).toMatchObject({ status: 'paused' });
    await expect(rt.cancel(cancelled)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await rt.whenIdle();
    expect(await rt.get(cancelled)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(await rt.get(paused)).toMatchObject({ status: 'paused', attempts: 0 });
    expect(seen.starts.has(cancelled) || seen.starts.has(paused)).toBe(false);
    // The raised task runs among the high ones, by its submit order.
    const priorityOf = (i: number): Priority => (file.ids[i] === raised ? 'high' : file.priorities[i]!);
    const expected = dispatchOrder(file.ids, priorityOf).filter((id) => id !== cancelled && id !== paused);
    expect(seen.completed.filter((id) => id !== file.blocker)).toEqual(expected);
    expect([...seen.starts.values()].every((n) => n === 1)).toBe(true);
    await rt.resume(paused);
    await rt.whenIdle();
    expect(await rt.get(paused)).toMatchObject({ status: 'completed', attempts: 1 });
    await rt.close();
  });

  it('orders a submit made during the load behind the restored tasks of its priority, loaded or not', async () => {
    const file = await queuedFile();
    const rt = await reopen(file.database);
    const seen = follow(rt);
    const high = await rt.submit('echo', 'new high', { priority: 'high' });
    const normal = await rt.submit('echo', 'new normal');
    expect(loading(rt)).toBe(true);
    await rt.whenIdle();
    const order = seen.completed;
    const lastOf = (p: Priority) => Math.max(...file.ids.filter((_, i) => file.priorities[i] === p).map((id) => order.indexOf(id)));
    const firstOf = (p: Priority) => Math.min(...file.ids.filter((_, i) => file.priorities[i] === p).map((id) => order.indexOf(id)));
    expect(order.indexOf(high.id)).toBe(lastOf('high') + 1);
    expect(order.indexOf(high.id)).toBeLessThan(firstOf('normal'));
    expect(order.indexOf(normal.id)).toBeGreaterThan(lastOf('normal'));
    expect(order.indexOf(normal.id)).toBeLessThan(firstOf('low'));
    await rt.close();
  });

  it('finds a dedupe key and a parent held by tasks still on disk', async () => {
    let keyed = '';
    let parent = '';
    const file = await queuedFile(async (rt) => {
      keyed = (await rt.submit('echo', 'keyed', { key: 'k', priority: 'low' })).id;
      parent = (await rt.submit('echo', 4, { priority: 'low' })).id;
    });
    const rt = await reopen(file.database);
    expect(loading(rt)).toBe(true);
    expect((await rt.submit('echo', 'again', { key: 'k' })).id).toBe(keyed);
    const [many] = await rt.submitMany([{ type: 'echo', payload: 'many', options: { key: 'k' } }]);
    expect(many!.id).toBe(keyed);
    const child = await rt.submit('sumDependencies', null, { dependsOn: [parent], priority: 'high' });
    expect(loading(rt)).toBe(true);
    expect(await child.result()).toBe(4);
    await rt.whenIdle();
    expect(await rt.stats()).toMatchObject({ total: COUNT + 4, completed: COUNT + 4 });
    await rt.close();
  });

  it('runs a restored child whose parent is loaded after it, and one whose parent ended during the load', async () => {
    let early = '';
    let late = '';
    const file = await queuedFile(async (rt) => {
      const lowParent = await rt.submit('echo', 2, { priority: 'low' });
      const highParent = await rt.submit('echo', 3, { priority: 'high' });
      // The high child is loaded long before its low parent; the low child long after its high one ran.
      early = (await rt.submit('sumDependencies', null, { dependsOn: [lowParent.id], priority: 'high' })).id;
      late = (await rt.submit('sumDependencies', null, { dependsOn: [highParent.id], priority: 'low' })).id;
    });
    const rt = await reopen(file.database);
    await rt.whenIdle();
    expect(await rt.get(early)).toMatchObject({ status: 'completed', result: 2 });
    expect(await rt.get(late)).toMatchObject({ status: 'completed', result: 3 });
    await rt.close();
  });

  it('resumes a task left paused in the file while it is still on disk', async () => {
    let paused = '';
    const file = await queuedFile(async (rt) => {
      paused = (await rt.submit('echo', 'paused', { priority: 'low' })).id;
      await rt.pause(paused);
    });
    const rt = await reopen(file.database);
    const seen = follow(rt);
    expect(loading(rt)).toBe(true);
    expect(await rt.get(paused)).toMatchObject({ status: 'paused' });
    await rt.resume(paused);
    await expect(rt.resume(paused)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await rt.whenIdle();
    // Resumed, it runs last: after every task of the file, as the newest low one.
    expect(seen.completed.at(-1)).toBe(paused);
    expect(await rt.get(paused)).toMatchObject({ status: 'completed', result: 'paused', attempts: 1 });
    await rt.close();
  });

  it('cancelMany during the load reaches the tasks still on disk', async () => {
    const file = await queuedFile();
    const rt = await reopen(file.database);
    expect(loading(rt)).toBe(true);
    const cancelled = await rt.cancelMany({ priority: 'low' });
    const lows = file.priorities.filter((p) => p === 'low').length;
    // Some of them may have run already; none of the others runs after.
    await rt.whenIdle();
    const stats = await rt.stats();
    expect(stats.cancelled).toBe(cancelled);
    expect(stats.completed + stats.cancelled).toBe(COUNT + 1);
    expect(cancelled).toBeGreaterThan(0);
    expect(cancelled).toBeLessThanOrEqual(lows);
    await rt.close();
  });

  it('runs every task once with aging on, while the load takes many aging periods', async () => {
    const file = await queuedFile();
    const rt = await reopen(file.database, { agingMs: 1 });
    const seen = follow(rt);
    await rt.whenIdle();
    expect(seen.completed).toHaveLength(COUNT + 1);
    expect(new Set(seen.completed).size).toBe(COUNT + 1);
    expect([...seen.starts.values()].every((n) => n === 1)).toBe(true);
    await rt.close();
  });

  for (const graceful of [true, false]) {
    it(`close({ graceful: ${graceful} }) during the load is clean, and the next open runs what is left`, async () => {
      const file = await queuedFile();
      const rt = await reopen(file.database, { concurrency: 2 });
      const seen = follow(rt);
      expect(loading(rt)).toBe(true);
      await rt.close({ graceful });
      restorePace.rowsPerTurn = null;
      const again = await reopen(file.database, { concurrency: 2 });
      const after = follow(again);
      await again.whenIdle();
      expect(await again.stats()).toMatchObject({ total: COUNT + 1, completed: COUNT + 1 });
      // Interrupted runs (graceful: false) run again; nothing else runs twice.
      const twice = after.completed.filter((id) => seen.completed.includes(id));
      expect(twice).toEqual([]);
      await again.close();
    });
  }
});
