import { describe, expect, it } from 'vitest';
import { firstValueFrom, filter } from 'rxjs';
import { Gates, nextEvent, openRuntime, record, submitAtGate } from './helpers.js';

/** Services for the `pausable` fixture: it loops on checkpoints until `stop(name)`. */
function stopSwitch() {
  const stopped = new Set<string>();
  const rounds = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  return {
    services: {
      shouldStop(name: string, round: number) {
        rounds.set(name, round);
        waiting.get(name)?.();
        return stopped.has(name);
      },
    },
    stop: (name: string) => stopped.add(name),
    rounds: (name: string) => rounds.get(name) ?? 0,
    /** Resolves once the task has been through at least one more round. */
    nextRound: (name: string) => new Promise<void>((resolve) => waiting.set(name, resolve)),
  };
}

describe('cancel', () => {
  it('cancels a queued task at once; result() rejects with ERR_TASK_CANCELLED', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const blocker = await submitAtGate(rt, { gate: 'b' });
    const waiting = await rt.submit('echo', 'never runs');
    await rt.cancel(waiting.id);
    expect((await rt.get(waiting.id))!.status).toBe('cancelled');
    await expect(waiting.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    gates.open('b');
    await blocker.result();
    expect((await rt.get(waiting.id))!).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null });
    await rt.close();
  });

  it('aborts ctx.signal of a running task, and cancel() resolves once it has stopped', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const events = record(rt.events$);
    const handle = await submitAtGate(rt, { gate: 'never' });
    await rt.cancel(handle.id);
    const task = await rt.get(handle.id);
    expect(task).toMatchObject({ status: 'cancelled', error: { code: 'ERR_TASK_CANCELLED' }, attempts: 1 });
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect(events.filter((e) => e.taskId === handle.id).map((e) => e.type)).toEqual(['created', 'started', 'progress', 'cancelled']);
    await rt.close();
  });

  it('makes the next ctx.checkpoint() throw in a task that does not watch the signal', async () => {
    const sw = stopSwitch();
    const rt = await openRuntime({ services: sw.services });
    const handle = await rt.submit('pausable', { name: 'p' });
    await sw.nextRound('p');
    await rt.cancel(handle.id);
    expect((await rt.get(handle.id))!.status).toBe('cancelled');
    await rt.close();
  });

  it('rejects with ERR_INVALID_TRANSITION for a finished task and ERR_TASK_NOT_FOUND for an unknown id', async () => {
    const rt = await openRuntime();
    const done = await rt.submit('noop');
    await done.result();
    await expect(rt.cancel(done.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await expect(rt.pause(done.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await expect(rt.cancel('no-such-id')).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await rt.close();
  });
});

describe('pause and resume', () => {
  it('holds back a paused queued task, even when the runtime is otherwise idle', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const blocker = await submitAtGate(rt, { gate: 'b' });
    const held = await rt.submit('add', { a: 20, b: 22 });
    await rt.pause(held.id);
    expect((await rt.get(held.id))!.status).toBe('paused');
    gates.open('b');
    await blocker.result();
    await rt.whenIdle(); // paused tasks do not count
    expect((await rt.get(held.id))!).toMatchObject({ status: 'paused', attempts: 0 });
    await expect(rt.pause(held.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await rt.resume(held.id);
    expect(await held.result()).toBe(42);
    await rt.close();
  });

  it('stops a running task at its next checkpoint, its status paused only once it has stopped', async () => {
    const sw = stopSwitch();
    const rt = await openRuntime({ services: sw.services });
    const events = record(rt.events$);
    const handle = await rt.submit('pausable', { name: 'p' });
    await sw.nextRound('p');
    await rt.pause(handle.id);
    // pause() resolved: the thread is asleep at a checkpoint and has acknowledged it.
    expect((await rt.get(handle.id))!.status).toBe('paused');
    const roundsWhilePaused = sw.rounds('p');
    expect(events.filter((e) => e.type === 'paused')).toHaveLength(1);
    // Resume, then let it finish: it had not advanced while paused.
    const nextRound = sw.nextRound('p');
    await rt.resume(handle.id);
    await nextRound;
    expect(sw.rounds('p')).toBe(roundsWhilePaused + 1);
    sw.stop('p');
    expect(await handle.result()).toBeGreaterThan(roundsWhilePaused);
    const types = events.filter((e) => e.taskId === handle.id).map((e) => e.type);
    expect(types).toEqual(['created', 'started', 'paused', 'resumed', 'completed']);
    expect((await rt.get(handle.id))!).toMatchObject({ status: 'completed', attempts: 1 });
    await rt.close();
  });

  it('cancels a task paused at a checkpoint', async () => {
    const sw = stopSwitch();
    const rt = await openRuntime({ services: sw.services });
    const handle = await rt.submit('pausable', { name: 'p' });
    await sw.nextRound('p');
    await rt.pause(handle.id);
    await rt.cancel(handle.id);
    expect((await rt.get(handle.id))!.status).toBe('cancelled');
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await rt.close();
  });

  it('rejects resume of a task that is not paused', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const running = await submitAtGate(rt, { gate: 'b' });
    const queued = await rt.submit('noop');
    await expect(rt.resume(queued.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    await expect(rt.resume(running.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    gates.open('b');
    await rt.whenIdle();
    await rt.close();
  });

  it('a pause withdrawn by resume before any checkpoint leaves the task running', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const handle = await submitAtGate(rt, { gate: 'g' });
    const pausing = rt.pause(handle.id);
    await rt.resume(handle.id);
    await expect(pausing).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    gates.open('g');
    expect(await handle.result()).toBe('g');
    await rt.close();
  });
});

describe('observables', () => {
  it('observe() emits snapshots until the task has finished, then completes', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const handle = await rt.submit('gated', { gate: 'g', result: 'done' });
    const statuses: string[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      rt.observe(handle.id).subscribe({ next: (t) => statuses.push(t.status), complete: resolve, error: reject });
    });
    await firstValueFrom(handle.progress$.pipe(filter((p) => p.progress === 10)));
    gates.open('g');
    await finished;
    expect(statuses.at(-1)).toBe('completed');
    const last = await firstValueFrom(rt.observe(handle.id));
    expect(last).toMatchObject({ status: 'completed', result: 'done', progress: 100 });
    await rt.close();
  });

  it('status$ and progress$ of a handle follow the task', async () => {
    const rt = await openRuntime({ progressIntervalMs: 0 });
    const handle = await rt.submit('steps', { count: 4 });
    const statuses: string[] = [];
    const progress: number[] = [];
    handle.progress$.subscribe((p) => progress.push(p.progress));
    await new Promise<void>((resolve) => handle.status$.subscribe({ next: (s) => statuses.push(s), complete: resolve }));
    expect(statuses.at(-1)).toBe('completed');
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    await rt.close();
  });

  it('observe() of an unknown id errors with ERR_TASK_NOT_FOUND', async () => {
    const rt = await openRuntime();
    await expect(firstValueFrom(rt.observe('nope'))).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await rt.close();
  });
});

describe('batches of short tasks', () => {
  it("tells a task's end while a later task of its batch still runs", async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    // Teach the scheduler that quickOrGated is short, so the next ones travel in one batch.
    await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'quickOrGated', payload: {} })));
    await rt.whenIdle();
    const [first, second, slow] = await rt.submitMany([
      { type: 'quickOrGated', payload: {} },
      { type: 'quickOrGated', payload: {} },
      { type: 'quickOrGated', payload: { gate: 'late' } },
    ]);
    await gates.reached('late');
    // The last of the batch waits at its gate: the two before it ended, and are told so now,
    // not when the batch ends (their results, and a cancel of them, would wait for it).
    expect(await first!.result()).toBe('quick');
    expect(await second!.result()).toBe('quick');
    await expect(rt.cancel(first!.id)).rejects.toMatchObject({ code: 'ERR_INVALID_TRANSITION' });
    expect((await rt.get(slow!.id))!.status).toBe('running');
    gates.open('late');
    expect(await slow!.result()).toBe('late');
    await rt.close();
  });

  it('does not leave tasks waiting behind a task of their batch that is paused', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 2, services: gates.services });
    // Teach the scheduler that quickOrGated is short, so the next ones travel in one batch.
    await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'quickOrGated', payload: {} })));
    await rt.whenIdle();
    const atGate = nextEvent(rt.events$, 'progress');
    const [slow, ...quick] = await rt.submitMany([
      { type: 'quickOrGated', payload: { gate: 'g' } },
      ...Array.from({ length: 5 }, () => ({ type: 'quickOrGated', payload: {} })),
    ]);
    await atGate;
    const pausing = rt.pause(slow!.id);
    gates.open('g');
    await pausing;
    // The five behind it in its batch were taken back and ran on the other thread.
    await rt.whenIdle();
    expect(await Promise.all(quick.map((h) => h.result()))).toEqual(Array(5).fill('quick'));
    expect((await rt.get(slow!.id))!.status).toBe('paused');
    await rt.resume(slow!.id);
    expect(await slow!.result()).toBe('g');
    await rt.close();
  });
});
