import { describe, expect, it } from 'vitest';
import { LiveTask } from '../../src/scheduler/live-task.js';

const task = (): LiveTask =>
  new LiveTask({
    id: 'id',
    type: 'noop',
    seq: 1,
    priority: 'normal',
    name: null,
    description: null,
    payload: undefined,
    createdAt: 0,
    attempts: 0,
    phase: 'waiting',
    limits: { timeoutMs: null, retries: 0, backoff: null },
    relations: { key: null, dependsOn: [], onParentFailure: 'cancel', group: null },
  });

describe('LiveTask extras', () => {
  it('reads the rarely used fields as their defaults, and writing a default makes nothing', () => {
    const t = task();
    expect([t.runAt, t.checkpoint, t.lastError, t.pauseWaiters, t.timedOut, t.cancelRequested, t.unfinishedParents]).toEqual([null, null, null, undefined, false, false, 0]);
    t.pauseWaiters = undefined;
    t.timedOut = false;
    t.runAt = null;
    expect(t.usesExtras).toBe(false);
  });

  it('keeps what is written, per task', () => {
    const a = task();
    const b = task();
    a.runAt = 123;
    a.unfinishedParents++;
    a.cancelRequested = true;
    expect([a.runAt, a.unfinishedParents, a.cancelRequested]).toEqual([123, 1, true]);
    expect([b.runAt, b.unfinishedParents, b.cancelRequested, b.usesExtras]).toEqual([null, 0, false, false]);
    a.runAt = null; // back to the default: still held, read as written
    expect(a.runAt).toBeNull();
  });
});
