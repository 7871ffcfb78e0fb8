import { describe, expect, it } from 'vitest';
import { Gates, record, submitAtGate } from '../helpers.js';
import { openFaulty } from './helpers.js';

describe('timeouts', () => {
  it('stops a run that takes longer than timeoutMs; it fails with ERR_TIMEOUT', async () => {
    const rt = await openFaulty();
    const handle = await rt.submit('endless', null, { timeoutMs: 50 });
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', taskError: { code: 'ERR_TIMEOUT' } });
    const task = (await rt.get(handle.id))!;
    expect(task).toMatchObject({ status: 'failed', attempts: 1, timeoutMs: 50 });
    expect(task.error!.message).toMatch(/timeoutMs \(50 ms\)/);
    await rt.close();
  });

  it('terminates a thread stuck in a loop once its time and the grace are up', async () => {
    const rt = await openFaulty({ concurrency: 1, cancelGraceMs: 20 });
    const handle = await rt.submit('spin', null, { timeoutMs: 30 });
    await expect(handle.result()).rejects.toMatchObject({ taskError: { code: 'ERR_TIMEOUT' } });
    expect(await (await rt.submit('ok', 'next')).result()).toBe('next');
    await rt.close();
  });

  it('applies the runtime default timeoutMs, which a submit can override', async () => {
    const rt = await openFaulty({ timeoutMs: 40 });
    const defaulted = await rt.submit('endless');
    expect((await rt.get(defaulted.id))!.timeoutMs).toBe(40);
    await expect(defaulted.result()).rejects.toMatchObject({ taskError: { code: 'ERR_TIMEOUT' } });
    const quick = await rt.submit('ok', 'fine', { timeoutMs: 60_000 });
    expect(await quick.result()).toBe('fine');
    await rt.close();
  });

  it('counts a timeout as a failure for retries', async () => {
    const rt = await openFaulty();
    const events = record(rt.events$);
    const handle = await rt.submit('endless', null, { timeoutMs: 30, retries: 1 });
    await expect(handle.result()).rejects.toMatchObject({ taskError: { code: 'ERR_TIMEOUT' } });
    expect(events.filter((e) => e.type === 'retrying')).toHaveLength(1);
    expect((await rt.get(handle.id))!.attempts).toBe(2);
    await rt.close();
  });

  it('a run paused at a checkpoint keeps its remaining time, and its clock is stopped', async () => {
    const gates = new Gates();
    const rt = await openFaulty({ services: gates.services });
    const handle = await submitAtGate(rt, { gate: 'g' });
    const pausing = rt.pause(handle.id);
    gates.open('g');
    await pausing;
    expect((await rt.get(handle.id))!.status).toBe('paused');
    await rt.resume(handle.id);
    expect(await handle.result()).toBe('g');
    await rt.close();
  });
});

describe('run deadlines (TaskTimers, no clock needed)', () => {
  it('puts the rest of the timeout aside while paused and moves the deadline on at resume', async () => {
    const { TaskTimers } = await import('../../src/scheduler/task-timers.js');
    const fired: unknown[] = [];
    const timers = new TaskTimers(() => {}, (task) => fired.push(task));
    const task = { limits: { timeoutMs: 100 }, deadline: 0, deadlineToken: 0, remainingMs: 0, timedOut: false } as never as Parameters<
      typeof timers.startRun
    >[0];
    timers.startRun(task, 1_000);
    expect(task.deadline).toBe(1_100);
    timers.pauseRun(task, 1_060);
    expect(task.remainingMs).toBe(40);
    timers.resumeRun(task, 50_000);
    expect(task.deadline).toBe(50_040);
    timers.clear();
    expect(fired).toEqual([]);
  });
});
