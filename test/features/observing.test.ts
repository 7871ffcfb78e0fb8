import { describe, expect, it } from 'vitest';
import { filter, firstValueFrom } from 'rxjs';
import { ofTaskType, ofType, type Task, type TaskEvent } from 'offthread';
import { Gates, nextEvent, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';

describe('watch (a live query)', () => {
  it('emits the matching tasks at once, then again as tasks enter and leave the filter', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services, progressIntervalMs: 10 });
    const seen: Task[][] = [];
    const subscription = rt.watch({ status: 'running' }).subscribe((tasks) => seen.push(tasks));
    const running = await firstValueFrom(rt.watch({ status: 'running' }).pipe(filter((tasks) => tasks.length === 0)));
    expect(running).toEqual([]);
    const handle = await submitAtGate(rt, { gate: 'g' });
    const withIt = await firstValueFrom(rt.watch({ status: 'running' }).pipe(filter((tasks) => tasks.length === 1)));
    expect(withIt[0]!.id).toBe(handle.id);
    gates.open('g');
    await handle.result();
    await firstValueFrom(rt.watch({ status: 'running' }).pipe(filter((tasks) => tasks.length === 0)));
    subscription.unsubscribe();
    expect(seen[0]).toEqual([]);
    await rt.close();
  });

  it('ofType narrows events$ to the given types', async () => {
    const rt = await openRuntime({ progressIntervalMs: 0 });
    const progress: number[] = [];
    rt.events$.pipe(ofType('progress')).subscribe((event) => progress.push(event.progress));
    await (await rt.submit('steps', { count: 2 })).result();
    expect(progress).toEqual([50, 100]);
    await rt.close();
  });

  it('every event names its task type, and ofTaskType keeps the events of the given types', async () => {
    const rt = await openRuntime({ progressIntervalMs: 0, concurrency: 1 });
    const all: TaskEvent[] = [];
    const ofSteps: TaskEvent[] = [];
    rt.events$.subscribe((event) => all.push(event));
    rt.events$.pipe(ofTaskType('steps')).subscribe((event) => ofSteps.push(event));
    const steps = await rt.submit('steps', { count: 2 });
    const failing = await rt.submit('fail', { message: 'no' }, { retries: 1, backoff: { type: 'fixed', delayMs: 0 } });
    const held = await rt.submit('echo', 1, { runAt: Date.now() + 60_000 });
    await rt.pause(held.id);
    await rt.resume(held.id);
    await rt.cancel(held.id);
    await steps.result();
    await expect(failing.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    await rt.close();
    const typeOf = new Map([
      [steps.id, 'steps'],
      [failing.id, 'fail'],
      [held.id, 'echo'],
    ]);
    expect(all.map((event) => event.type)).toEqual(
      expect.arrayContaining(['created', 'started', 'progress', 'completed', 'retrying', 'failed', 'paused', 'resumed', 'cancelled']),
    );
    for (const event of all) expect(event.taskType, `${event.type} of ${event.taskId}`).toBe(typeOf.get(event.taskId));
    expect(ofSteps.map((event) => event.type)).toEqual(['created', 'started', 'progress', 'progress', 'completed']);
  });
});

describe('metrics', () => {
  it('counts finished tasks and times their runs, per type and per priority', async () => {
    const rt = await openRuntime({ metricsIntervalMs: 10 });
    await rt.submitMany([
      { type: 'echo', payload: 1, options: { priority: 'high' } },
      { type: 'echo', payload: 2 },
      { type: 'fail' },
    ]);
    await rt.whenIdle();
    const metrics = rt.metrics();
    expect(metrics.types.echo).toMatchObject({ completed: 2, failed: 0, cancelled: 0 });
    expect(metrics.types.fail).toMatchObject({ completed: 0, failed: 1 });
    expect(metrics.priorities.high.completed).toBe(1);
    expect(metrics.priorities.normal).toMatchObject({ completed: 1, failed: 1 });
    expect(metrics.types.echo!.runMs.max).toBeGreaterThanOrEqual(metrics.types.echo!.runMs.p50);
    expect(metrics.types.echo!.throughputPerMin).toBe(2);
    const emitted = await firstValueFrom(rt.metrics$);
    expect(emitted.types.echo!.completed).toBe(2);
    await rt.close();
  });
});

describe('cron schedules', () => {
  it('submits the task on each tick, lists and removes schedules, and keeps them across a restart', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database });
    const created = nextEvent(rt.events$, 'completed');
    const info = await rt.schedule('every-second', '* * * * * *', 'echo', 'tick', { priority: 'high' });
    expect(info).toMatchObject({ name: 'every-second', type: 'echo', overlap: false });
    const completed = await created;
    expect(completed.result).toBe('tick');
    expect((await rt.get(completed.taskId))!.priority).toBe('high');
    await expect(rt.schedule('bad', 'every day', 'echo')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'cron' });
    await expect(rt.schedule('bad-type', '* * * * * *', 'nope')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TASK_TYPE' });
    await rt.close();

    const reopened = await openRuntime({ database });
    expect((await reopened.schedules()).map((s) => s.name)).toEqual(['every-second']);
    expect(await reopened.unschedule('every-second')).toBe(true);
    expect(await reopened.schedules()).toEqual([]);
    await reopened.close();
  });
});

describe('completed events', () => {
  it('carry the result, the same object for every listener, as plain data (JSON, structuredClone)', async () => {
    const rt = await openRuntime();
    const first = nextEvent(rt.events$, 'completed');
    const second = nextEvent(rt.events$, 'completed');
    await rt.submit('echo', { rows: [1, 2, 3], name: 'x' });
    const [a, b] = await Promise.all([first, second]);
    expect(a.result).toEqual({ rows: [1, 2, 3], name: 'x' });
    expect(b.result).toBe(a.result);
    expect(JSON.parse(JSON.stringify(a))).toMatchObject({ type: 'completed', result: { rows: [1, 2, 3], name: 'x' } });
    expect(structuredClone(a)).toMatchObject({ result: { name: 'x' } });
    expect({ ...a }.result).toBe(a.result);
    await rt.close();
  });
});

describe('runSchedule', () => {
  it("submits a schedule's task now, keeps its next tick, and counts the run as its last", async () => {
    const rt = await openRuntime();
    // Yearly: no tick comes during the test.
    const before = await rt.schedule('report', '0 0 1 1 *', 'echo', 'now please', { priority: 'high' });
    const handle = await rt.runSchedule<string>('report');
    expect(await handle.result()).toBe('now please');
    expect((await rt.get(handle.id))!.priority).toBe('high');
    const [after] = await rt.schedules();
    expect(after).toMatchObject({ name: 'report', nextRunAt: before.nextRunAt, lastTaskId: handle.id });
    expect(after!.lastRunAt).not.toBeNull();
    await expect(rt.runSchedule('nope')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'name' });
    await rt.close();
  });
});

describe('bad input on the streams', () => {
  it('watch() with a bad filter errors through the observable; schedule() refuses dependsOn', async () => {
    const rt = await openRuntime();
    await expect(firstValueFrom(rt.watch({ status: 'nope' as never }))).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(rt.schedule('s', '* * * * * *', 'noop', null, { dependsOn: ['x'] } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'dependsOn',
    });
    expect(await rt.schedules()).toEqual([]);
    await rt.close();
  });
});
