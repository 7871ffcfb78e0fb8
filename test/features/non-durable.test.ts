/**
 * Tasks that are not stored (durable: false): they run as any other task, are seen while
 * they live, and leave no row behind, in the file or after a close or a crash.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Gates, nextEvent, openRuntime, record, submitAtGate, tempDatabase } from '../helpers.js';

/** The ids of the rows in a database file, read through a connection of its own. */
function storedIds(database: string): string[] {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT id FROM tasks').all() as Array<{ id: string }>).map((row) => row.id);
  } finally {
    db.close();
  }
}

describe('a task that is not durable', () => {
  it('runs and returns its result, and no row of it is ever written', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    const created = nextEvent(rt.events$, 'created');
    const unstored = await rt.submit('add', { a: 2, b: 3 }, { durable: false });
    expect(await created).toMatchObject({ taskId: unstored.id, taskType: 'add' });
    const stored = await rt.submit('echo', 'kept');
    expect(await unstored.result()).toBe(5);
    expect(await stored.result()).toBe('kept');
    await rt.whenIdle();
    expect(storedIds(database)).toEqual([stored.id]);
    // Finished: gone from the runtime.
    expect(await rt.get(unstored.id)).toBeUndefined();
    expect(await unstored.result()).toBe(5); // the handle still knows how it ended
    await expect(rt.cancel(unstored.id)).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await rt.close();
    expect(storedIds(database)).toEqual([stored.id]);
  });

  it('reports progress, and observe() ends with its last state read from memory', async () => {
    const rt = await openRuntime({ concurrency: 1, progressIntervalMs: 0 });
    const events = record(rt.events$);
    const handle = await rt.submit('steps', { count: 3 }, { durable: false });
    const snapshots: string[] = [];
    const observed = new Promise<void>((resolve, reject) =>
      rt.observe(handle.id).subscribe({ next: (task) => snapshots.push(task.status), complete: resolve, error: reject }),
    );
    expect(await handle.result()).toBe(3);
    await observed;
    expect(snapshots.at(-1)).toBe('completed');
    const mine = events.filter((event) => event.taskId === handle.id).map((event) => event.type);
    expect(mine.filter((type) => type === 'progress').length).toBeGreaterThan(0);
    expect(mine.at(-1)).toBe('completed');
    await rt.close();
  });

  it('is paused, resumed, reprioritised and cancelled while queued, and paused and cancelled while running', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'first' });
    const low = await rt.submit('echo', 'low', { durable: false, priority: 'low' });
    const other = await rt.submit('echo', 'other', { durable: false, priority: 'low' });
    const dropped = await rt.submit('echo', 'dropped', { durable: false });
    await rt.pause(low.id);
    expect(await rt.get(low.id)).toMatchObject({ status: 'paused' });
    await rt.resume(low.id);
    await rt.setPriority(low.id, 'high'); // now ahead of `other`
    await rt.cancel(dropped.id);
    await expect(dropped.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    const order: string[] = [];
    rt.events$.subscribe((event) => {
      if (event.type === 'started' && (event.taskId === low.id || event.taskId === other.id)) order.push(event.taskId);
    });
    gates.open('first');
    expect(await low.result()).toBe('low');
    expect(await other.result()).toBe('other');
    expect(order).toEqual([low.id, other.id]);

    // Running: a pause takes effect at its checkpoint (past the gate), a cancel at once.
    const running = await submitAtGateUnstored(rt, 'second');
    const paused = rt.pause(running.id);
    gates.open('second');
    await paused;
    expect(await rt.get(running.id)).toMatchObject({ status: 'paused' });
    await rt.resume(running.id);
    expect(await running.result()).toBe('second');
    const stopped = await submitAtGateUnstored(rt, 'never');
    await rt.cancel(stopped.id);
    await expect(stopped.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await rt.close();
  });

  it('retries, times out, and keeps its checkpoint in memory for the retry', async () => {
    const rt = await openRuntime({ concurrency: 1, cancelGraceMs: 0 });
    const retrying = nextEvent(rt.events$, 'retrying');
    const failing = await rt.submit('fail', { message: 'twice' }, { durable: false, retries: 1 });
    await expect(failing.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect(await retrying).toMatchObject({ taskId: failing.id, attempt: 1 });
    const slow = await rt.submit('sleeper', { ms: 2000 }, { durable: false, timeoutMs: 50 });
    await expect(slow.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    // Its first run's thread dies after 2 of 4 steps: the retry starts from the saved state.
    const resumed = await rt.submit('resumable', { steps: 4, crashAfter: 2 }, { durable: false, retries: 1 });
    expect(await resumed.result()).toEqual({ startedFrom: 2, attempt: 2 });
    await rt.close();
  });

  it('is seen by get, list and stats while it lives, and not after', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const running = await submitAtGateUnstored(rt, 'g');
    const queued = await rt.submit('echo', 'q', { durable: false });
    const stored = await rt.submit('echo', 's');
    expect(await rt.get(running.id)).toMatchObject({ status: 'running', type: 'gated' });
    expect(await rt.get(queued.id)).toMatchObject({ status: 'queued', payload: 'q' });
    expect(await rt.stats()).toMatchObject({ total: 3, queued: 2, running: 1 });
    expect(new Set((await rt.list()).map((task) => task.id))).toEqual(new Set([stored.id, queued.id, running.id]));
    expect((await rt.list({ status: 'running' })).map((task) => task.id)).toEqual([running.id]);
    gates.open('g');
    await rt.whenIdle();
    expect(await rt.get(running.id)).toBeUndefined();
    expect(await rt.get(queued.id)).toBeUndefined();
    expect((await rt.list()).map((task) => task.id)).toEqual([stored.id]);
    expect(await rt.stats()).toMatchObject({ total: 1, completed: 1, queued: 0, running: 0 });
    await rt.close();
  });

  it('a close loses it: a queued one rejects result() with ERR_RUNTIME_CLOSED, and a reopen finds nothing', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ database, concurrency: 1, services: gates.services });
    const stored = await submitAtGate(first, { gate: 'g' });
    const queued = await first.submit('echo', 'lost', { durable: false });
    const result = queued.result().catch((error: unknown) => error);
    const closing = first.close();
    gates.open('g');
    await closing;
    expect(await result).toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    const second = await openRuntime({ database });
    expect(await second.get(queued.id)).toBeUndefined();
    expect((await second.list()).map((task) => task.id)).toEqual([stored.id]);
    await second.close();
  });

  it('a crash of the host leaves no trace of it', async () => {
    const database = tempDatabase();
    const child = spawn(process.execPath, [new URL('../fixtures/crash-host.js', import.meta.url).pathname, database, 'unstored'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let ids: { stored: string; unstored: string[] };
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      ids = JSON.parse(line);
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    expect(storedIds(database)).toEqual([ids.stored]);
    const rt = await openRuntime({ database, services: { gate: async () => {} } });
    await rt.whenIdle();
    for (const id of ids.unstored) expect(await rt.get(id)).toBeUndefined();
    expect(await rt.stats()).toMatchObject({ total: 1, completed: 1 });
    await rt.close();
  });
});

/** A non-durable `gated` task whose thread waits at the gate (see submitAtGate). */
async function submitAtGateUnstored(rt: Awaited<ReturnType<typeof openRuntime>>, gate: string) {
  const waiting = nextEvent(rt.events$, 'progress');
  const handle = await rt.submit('gated', { gate }, { durable: false });
  await waiting;
  return handle;
}
