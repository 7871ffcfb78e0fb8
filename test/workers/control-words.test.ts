/**
 * The control words' claim protocol: a worker starts a task only by swapping its threadId into
 * the task's thread word while it is 0; the host takes a task back only by swapping REVOKED in
 * while it is 0. (The worker's side is one Atomics.compareExchange in worker-entry.ts, done
 * here by hand.) Exactly one side wins, so a task taken back never runs, and one a worker has
 * started is never queued a second time.
 */
import { describe, expect, it } from 'vitest';
import { CANCEL, ControlSlots, DONE, RUN, threadIndex } from '../../src/workers/control.js';

const WORKER_THREAD = 7;

function claim(words: Int32Array, slot: number): boolean {
  return Atomics.compareExchange(words, threadIndex(slot), 0, WORKER_THREAD) === 0;
}

describe('control words', () => {
  it('a task its worker has claimed cannot be taken back, and shows which thread runs it', () => {
    const slots = new ControlSlots(2);
    const words = new Int32Array(slots.buffer);
    const slot = slots.acquire()!;
    expect(slots.unstarted(slot)).toBe(true);
    expect(claim(words, slot)).toBe(true);
    expect(slots.revoke(slot)).toBe(false);
    expect(slots.get(slot)).toBe(RUN);
    expect(slots.started(slot)).toBe(true);
    expect(slots.runningThread(slot)).toBe(WORKER_THREAD);
    Atomics.store(words, threadIndex(slot), DONE); // the worker finished it
    expect(slots.revoke(slot)).toBe(false);
    expect(slots.started(slot)).toBe(true);
    expect(slots.runningThread(slot)).toBe(0); // nothing to terminate for it any more
  });

  it('a task taken back cannot be claimed, and its state says CANCEL', () => {
    const slots = new ControlSlots(2);
    const words = new Int32Array(slots.buffer);
    const slot = slots.acquire()!;
    expect(slots.revoke(slot)).toBe(true);
    expect(claim(words, slot)).toBe(false);
    expect(slots.get(slot)).toBe(CANCEL);
    expect(slots.started(slot)).toBe(false);
    expect(slots.unstarted(slot)).toBe(true);
    expect(slots.runningThread(slot)).toBe(0);
  });

  it('a slot lent again starts unclaimed', () => {
    const slots = new ControlSlots(1);
    const slot = slots.acquire()!;
    expect(slots.revoke(slot)).toBe(true);
    slots.release(slot);
    const again = slots.acquire()!;
    expect(again).toBe(slot);
    expect(slots.get(again)).toBe(RUN);
    expect(slots.unstarted(again)).toBe(true);
    expect(claim(new Int32Array(slots.buffer), again)).toBe(true);
  });
});
