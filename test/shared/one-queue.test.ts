/**
 * Runtimes on one PostgreSQL queue (in this process; test/shared/hosts.test.ts runs real
 * host processes): what is submitted on one is run by whichever claims it, results and
 * streams reach every host, and commands reach the task wherever it is.
 */
import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom, toArray, take } from 'rxjs';
import { Gates, nextEvent, openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';

describe('one queue on PostgreSQL, several runtimes', () => {
  it('a server that cannot be reached at open is ERR_STORE_UNAVAILABLE, naming it without the password, and leaves nothing open', async () => {
    // Port 1 on the loopback: nothing listens there.
    const error = await openRuntime({ database: 'postgres://app:s3cret@127.0.0.1:1/jobs', concurrency: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect((error as Error).message).toContain('127.0.0.1:1/jobs');
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('runs a task submitted on a producer-only host on another, with its result and events', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const producer = await openRuntime({ database, concurrency: 0 });
    const started = firstValueFrom(producer.events$.pipe(filter((e) => e.type === 'started')));
    const handle = await producer.submit('add', { a: 2, b: 3 });
    expect(await handle.result()).toBe(5);
    // Events from another host name the task's type as the host's own do.
    expect(await started).toMatchObject({ taskId: handle.id, taskType: 'add' });
    expect(await producer.get(handle.id)).toMatchObject({ status: 'completed', result: 5, attempts: 1 });
    // Metrics are per host: the run counts where it ran.
    expect(worker.metrics().types.add).toMatchObject({ completed: 1 });
    expect(producer.metrics().types.add).toBeUndefined();
    await producer.close();
    await worker.close();
  });

  it('reports a failure and a cancel to the host that waits', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const producer = await openRuntime({ database, concurrency: 0 });
    const failing = await producer.submit('fail', { message: 'no luck' });
    await expect(failing.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    // Queued and held by no host (the worker is busy elsewhere): the store cancels it itself.
    await worker.close();
    const queued = await producer.submit('noop');
    const cancelled = nextEvent(producer.events$, 'cancelled', queued.id);
    await producer.cancel(queued.id);
    expect(await cancelled).toMatchObject({ taskType: 'noop' });
    await expect(queued.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await producer.close();
  });

  it('sends a message to a task that runs on another host (rt.send)', async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const worker = await openRuntime({ database, concurrency: 1, services: gates.services });
    const producer = await openRuntime({ database, concurrency: 0 });
    const queued = await producer.submit('noop', undefined, { runAt: Date.now() + 60_000 });
    await expect(producer.send(queued.id, 'too soon')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    const started = firstValueFrom(producer.events$.pipe(filter((e) => e.type === 'started' && e.taskType === 'listener')));
    const handle = await producer.submit('listener', { gate: 'g' });
    await started;
    await producer.send(handle.id, { from: 'the producer', at: new Date(5) });
    await expect(producer.send(handle.id, () => 1)).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    await expect(producer.send(handle.id, 'x'.repeat(10_000))).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
    gates.open('g');
    await producer.send(handle.id, 'stop');
    expect(await handle.result()).toEqual([{ from: 'the producer', at: new Date(5) }]);
    await expect(producer.send(handle.id, 'late')).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await producer.cancel(queued.id);
    await producer.close();
    await worker.close();
  });

  it('debounces a key across hosts: an unclaimed holder takes the last payload and start', async () => {
    const database = await freshDatabase();
    const a = await openRuntime({ database, concurrency: 0 });
    const b = await openRuntime({ database, concurrency: 0 });
    const first = await a.submit('echo', 'from a', { key: 'doc', debounceMs: 60_000 });
    const before = (await a.get(first.id))!.runAt!;
    const second = await b.submit('echo', 'from b', { key: 'doc', debounceMs: 60_000 });
    expect(second.id).toBe(first.id);
    const task = await a.get(first.id);
    expect(task).toMatchObject({ status: 'queued', payload: 'from b', key: 'doc' });
    expect(task!.runAt).toBeGreaterThanOrEqual(before);
    expect(await a.stats()).toMatchObject({ total: 1 });
    await a.cancel(first.id);
    await b.close();
    await a.close();
  });

  it('keeps a task\'s group in the queue; a host holds its claimed tasks to their group\'s cap', async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const worker = await openRuntime({ database, concurrency: 2, services: gates.services, groups: { tenant: { concurrency: 1 } } });
    const producer = await openRuntime({ database, concurrency: 0 });
    const first = await producer.submit('gated', { gate: 't1' }, { group: 'tenant' });
    const second = await producer.submit('gated', { gate: 't2' }, { group: 'tenant' });
    await gates.reached('t1');
    // A thread is free, and a task of no group behind the tenant's second runs on it.
    expect(await (await producer.submit('echo', 'free')).result()).toBe('free');
    expect(await producer.get(second.id)).toMatchObject({ status: 'queued', group: 'tenant' });
    gates.open('t1');
    await first.result();
    await gates.reached('t2');
    gates.open('t2');
    await second.result();
    expect((await producer.get(first.id))?.group).toBe('tenant');
    await producer.close();
    await worker.close();
  });

  it('each task runs exactly once across three hosts', async () => {
    const database = await freshDatabase();
    const hosts = [await openRuntime({ database, concurrency: 1 }), await openRuntime({ database, concurrency: 1 }), await openRuntime({ database, concurrency: 1 })];
    const handles = await Promise.all(Array.from({ length: 300 }, (_, i) => hosts[i % 3]!.submit('echo', i)));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const stats = await hosts[0]!.stats();
    expect(stats).toMatchObject({ total: 300, completed: 300 });
    const attempts = (await hosts[0]!.list({ limit: 300 })).map((t) => t.attempts);
    expect(new Set(attempts)).toEqual(new Set([1]));
    for (const host of hosts) await host.close();
  });

  it('observe() on one host follows a task another host runs, to its end', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const producer = await openRuntime({ database, concurrency: 0 });
    const handle = await producer.submit('steps', { count: 3 });
    const statuses = await firstValueFrom(producer.observe(handle.id).pipe(toArray()));
    expect(statuses.at(-1)).toMatchObject({ status: 'completed', result: 3 });
    const progress = await firstValueFrom(handle.progress$.pipe(take(1)));
    expect(progress).toMatchObject({ progress: 100 });
    await producer.close();
    await worker.close();
  });

  it('pause, resume and cancel from a producer reach a task running on another host', async () => {
    const database = await freshDatabase();
    let stop = false;
    const worker = await openRuntime({ database, concurrency: 1, services: { shouldStop: () => stop } });
    const producer = await openRuntime({ database, concurrency: 0 });
    const handle = await producer.submit('pausable', { name: 'p' });
    await nextEvent(producer.events$, 'started', handle.id);
    const paused = nextEvent(producer.events$, 'paused', handle.id);
    await producer.pause(handle.id);
    await paused;
    expect(await producer.get(handle.id)).toMatchObject({ status: 'paused' });
    // Really stopped at its checkpoint: the holder says so too.
    expect(await worker.get(handle.id)).toMatchObject({ status: 'paused' });
    const resumed = nextEvent(producer.events$, 'resumed', handle.id);
    await producer.resume(handle.id);
    await resumed;
    await producer.cancel(handle.id);
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    stop = true;
    await producer.close();
    await worker.close();
  });

  it('a child waits for a parent that runs on another host; a key is unique across the queue', async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const a = await openRuntime({ database, concurrency: 1, services: gates.services });
    const b = await openRuntime({ database, concurrency: 1, services: gates.services });
    const parent = await a.submit('gated', { gate: 'parent', result: 4 });
    await gates.reached('parent');
    const child = await b.submit('sumDependencies', undefined, { dependsOn: [parent.id] });
    // Delayed an hour, so the first stays unfinished (and holds the key), and takes no thread.
    const later = { key: 'only-one', runAt: Date.now() + 3_600_000 };
    const [first, second] = await Promise.all([a.submit('echo', 'x', later), b.submit('echo', 'y', later)]);
    expect(second.id).toBe(first.id);
    gates.open('parent');
    expect(await child.result()).toBe(4);
    await b.cancel(first.id);
    await expect(first.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    // Finished: the key is free again.
    const third = await b.submit('echo', 'z', { key: 'only-one' });
    expect(third.id).not.toBe(first.id);
    expect(await third.result()).toBe('z');
    await a.close();
    await b.close();
  });

  it('a delayed task starts when it comes due, and close() hands back what a host claimed and did not start', async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const a = await openRuntime({ database, concurrency: 1, services: gates.services });
    const delayed = await a.submit('echo', 'later', { runAt: Date.now() + 300 });
    expect(await delayed.result()).toBe('later');
    // A holds one running task and has claimed more than it can start.
    const running = await a.submit('gated', { gate: 'g' });
    await gates.reached('g');
    const queued = await Promise.all(Array.from({ length: 3 }, (_, i) => a.submit('echo', i)));
    const closing = a.close();
    gates.open('g');
    await closing;
    expect(await running.result().catch((e: unknown) => e)).toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    const b = await openRuntime({ database, concurrency: 1 });
    const results = await Promise.all(queued.map((h) => b.observe(h.id).pipe(filter((t) => t.status === 'completed'))).map((o) => firstValueFrom(o)));
    expect(results.map((t) => t.result)).toEqual([0, 1, 2]);
    expect(await b.get(running.id)).toMatchObject({ status: 'completed', result: 'g' });
    await b.close();
  });

  it('cancelMany on one host cancels the matching tasks of the whole queue', async () => {
    const database = await freshDatabase();
    const producer = await openRuntime({ database, concurrency: 0 });
    await producer.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: i })));
    expect(await producer.cancelMany({ type: 'echo' })).toBe(5);
    expect(await producer.stats()).toMatchObject({ cancelled: 5, queued: 0 });
    await producer.close();
  });
});
