/**
 * Control words: how the host tells a running task to pause, resume or stop without a
 * message per task (a MessageChannel per task costs ~12x a no-op task; see DESIGN.md).
 *
 * One SharedArrayBuffer, shared with every worker at start, holds a small record per
 * *slot*. Each dispatched task borrows a slot until its outcome is back on the host.
 *   [state]     RUN | PAUSE | CANCEL, written by the host, read by the worker at
 *               `ctx.checkpoint()`; a paused worker sleeps in Atomics.wait on it.
 *   [threadId]  written by the worker when it starts the task, so the host can terminate
 *               exactly that thread if the task ignores a cancel.
 */
export const RUN = 0;
export const PAUSE = 1;
export const CANCEL = 2;
export type ControlState = typeof RUN | typeof PAUSE | typeof CANCEL;

const SLOT_WIDTH = 2;

export function stateIndex(slot: number): number {
  return slot * SLOT_WIDTH;
}

export function threadIndex(slot: number): number {
  return slot * SLOT_WIDTH + 1;
}

/** Host side: owns the buffer and lends out slots. */
export class ControlSlots {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly free: number[] = [];

  constructor(readonly capacity: number) {
    this.buffer = new SharedArrayBuffer(capacity * SLOT_WIDTH * Int32Array.BYTES_PER_ELEMENT);
    this.words = new Int32Array(this.buffer);
    // A stack, popped from the end: never shift() an array used as a queue.
    for (let slot = capacity - 1; slot >= 0; slot--) this.free.push(slot);
  }

  get available(): number {
    return this.free.length;
  }

  /** A fresh slot in state RUN, or undefined when all are lent out. */
  acquire(): number | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    this.words[stateIndex(slot)] = RUN;
    this.words[threadIndex(slot)] = 0;
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Writes a state and wakes a worker sleeping on it (a paused one). */
  set(slot: number, state: ControlState): void {
    Atomics.store(this.words, stateIndex(slot), state);
    Atomics.notify(this.words, stateIndex(slot));
  }

  get(slot: number): ControlState {
    return Atomics.load(this.words, stateIndex(slot)) as ControlState;
  }

  /** The worker thread running the slot's task, or 0 if it has not started. */
  threadOf(slot: number): number {
    return Atomics.load(this.words, threadIndex(slot));
  }
}
