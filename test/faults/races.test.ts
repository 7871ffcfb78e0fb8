import { describe, expect, it } from 'vitest';
import { OffthreadError } from 'offthread';
import { openRuntime, record, tempDatabase } from '../helpers.js';

/** Services for the `pausable` fixture: it checkpoints in a loop until told to stop. */
function stopSwitch() {
  const stopped = new Set<string>();
  let firstRound: () => void;
  const started = new Promise<void>((resolve) => (firstRound = resolve));
  return {
    services: {
      shouldStop: (name: string) => {
        firstRound();
        return stopped.has(name);
      },
    },
    started,
    stop: (name: string) => stopped.add(name),
  };
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/** Every call settled, and each rejection is a typed error with a stable code. */
function expectTyped(settled: PromiseSettledResult<unknown>[]): void {
  for (const result of settled) {
    if (result.status === 'rejected') {
      expect(result.reason).toBeInstanceOf(OffthreadError);
      expect(['ERR_INVALID_TRANSITION', 'ERR_TASK_NOT_FOUND']).toContain((result.reason as OffthreadError).code);
    }
  }
}

describe('races', () => {
  it('pause, resume and cancel fired at once on one task: all settle, one consistent end', async () => {
    const sw = stopSwitch();
    const rt = await openRuntime({ services: sw.services, cancelGraceMs: 50 });
    const events = record(rt.events$);
    const handle = await rt.submit('pausable', { name: 'p' });
    await sw.started;
    const ops = [rt.pause, rt.resume, rt.pause, rt.pause, rt.resume, rt.cancel, rt.pause, rt.resume, rt.cancel, rt.resume];
    const settled = await Promise.allSettled(ops.map((op) => op.call(rt, handle.id)));
    expectTyped(settled);
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    const row = (await rt.get(handle.id))!;
    expect(row.status).toBe('cancelled');
    const own = events.filter((e) => e.taskId === handle.id).map((e) => e.type);
    // Exactly one end, last; pauses and resumes alternate, each resume after a pause.
    expect(own.filter((t) => FINAL.has(t))).toEqual(['cancelled']);
    expect(own.at(-1)).toBe('cancelled');
    let paused = false;
    for (const type of own) {
      if (type === 'paused') expect((paused = !paused)).toBe(true);
      if (type === 'resumed') expect((paused = !paused)).toBe(false);
    }
    await rt.close();
  });

  it('cancel racing the end of many short tasks: each ends once, row and events agree', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const events = record(rt.events$);
    const handles = await rt.submitMany(Array.from({ length: 200 }, (_, i) => ({ type: 'echo', payload: i })));
    const settled = await Promise.allSettled(handles.map((h) => rt.cancel(h.id)));
    expectTyped(settled);
    await rt.whenIdle();
    const rows = await rt.list({ limit: 1000 });
    const ends = new Map<string, string[]>();
    for (const e of events) if (FINAL.has(e.type)) ends.set(e.taskId, [...(ends.get(e.taskId) ?? []), e.type]);
    for (const [i, handle] of handles.entries()) {
      const row = rows.find((r) => r.id === handle.id)!;
      expect(ends.get(handle.id)).toEqual([row.status]);
      // cancel() resolved exactly when the task did end cancelled.
      expect(settled[i]!.status === 'fulfilled').toBe(row.status === 'cancelled');
      if (row.status === 'completed') expect(row.result).toBe(i);
    }
    await rt.close();
  });

  it('close while submits are in flight: each submit resolves (stored) or rejects with ERR_RUNTIME_CLOSED', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database });
    const before = Array.from({ length: 50 }, (_, i) => rt.submit('echo', i));
    const closing = rt.close();
    const after = Array.from({ length: 20 }, (_, i) => rt.submit('echo', 100 + i));
    const [settledBefore, settledAfter] = await Promise.all([Promise.allSettled(before), Promise.allSettled(after), closing]);
    expect(settledBefore.every((s) => s.status === 'fulfilled')).toBe(true);
    for (const s of settledAfter) expect(s).toMatchObject({ status: 'rejected', reason: { code: 'ERR_RUNTIME_CLOSED' } });
    const reopened = await openRuntime({ database });
    const ids = new Set((await reopened.list({ limit: 1000 })).map((t) => t.id));
    for (const s of settledBefore) expect(ids.has((s as PromiseFulfilledResult<{ id: string }>).value.id)).toBe(true);
    expect(ids.size).toBe(50);
    await reopened.whenIdle();
    await reopened.close();
  });

  it('events and rows agree for a task that finishes while being observed', async () => {
    const rt = await openRuntime();
    const handle = await rt.submit('steps', { count: 3 });
    const snapshots: string[] = [];
    await new Promise<void>((resolve) => rt.observe(handle.id).subscribe({ next: (t) => snapshots.push(t.status), complete: resolve }));
    expect(snapshots.at(-1)).toBe('completed');
    await rt.close();
  });
});

