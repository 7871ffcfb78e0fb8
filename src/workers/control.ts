/**
 * Control words: how the host tells a running task to pause, resume or stop without a
 * message per task (a MessageChannel per task costs ~12x a no-op task; see docs/design.md).
 *
 * One SharedArrayBuffer, shared with every worker at start, holds a small record per
 * *slot*. Each dispatched task borrows a slot until its outcome is back on the host.
 *   [state]     RUN | PAUSE | CANCEL, written by the host, read by the worker at
 *               `ctx.checkpoint()`; a paused worker sleeps in Atomics.wait on it.
 *   [thread]    0 until a worker claims the task: the worker swaps in its threadId as it
 *               starts it (so the host can terminate exactly that thread if the task ignores
 *               a cancel), then DONE once it has finished it. The host may swap in REVOKED
 *               instead, while it is still 0, to take back a task sent but not started: one
 *               compare-and-swap each side, so exactly one of them wins.
 *   [output]    How many of the values the task emitted (`ctx.emit`) the host has handed to
 *               its readers. The worker lets at most OUTPUT_WINDOW values wait beyond it and
 *               waits on this word (Atomics.waitAsync) for room: the handler's back-pressure.
 */
export const RUN = 0;
export const PAUSE = 1;
export const CANCEL = 2;
export type ControlState = typeof RUN | typeof PAUSE | typeof CANCEL;

/** Thread word of a task the host took back before any worker started it. */
export const REVOKED = -1;
/** Thread word of a task its worker has finished (its outcome travels with its call). */
export const DONE = -2;

/** Values a task may have emitted and the host not yet handed on, before `ctx.emit` waits. */
export const OUTPUT_WINDOW = 64;

const SLOT_WIDTH = 3;

export function stateIndex(slot: number): number {
  return slot * SLOT_WIDTH;
}

export function threadIndex(slot: number): number {
  return slot * SLOT_WIDTH + 1;
}

export function outputIndex(slot: number): number {
  return slot * SLOT_WIDTH + 2;
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
    this.words[outputIndex(slot)] = 0;
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Writes a state and wakes a worker sleeping on it (a paused one). */
  set(slot: number, state: ControlState): void {
    Atomics.store(this.words, stateIndex(slot), state);
    Atomics.notify(this.words, stateIndex(slot));
    // A handler waiting at ctx.emit() for room learns of a cancel too.
    Atomics.notify(this.words, outputIndex(slot));
  }

  /** The host has handed on `count` more of the slot's task's emitted values: room for as many. */
  consumeOutput(slot: number, count: number): void {
    Atomics.add(this.words, outputIndex(slot), count);
    Atomics.notify(this.words, outputIndex(slot));
  }

  get(slot: number): ControlState {
    return Atomics.load(this.words, stateIndex(slot)) as ControlState;
  }

  /** The worker thread running the slot's task now, or 0 (not started, finished or taken back). */
  runningThread(slot: number): number {
    return Math.max(0, Atomics.load(this.words, threadIndex(slot)));
  }

  /** A worker has started the slot's task (it may have finished it since). */
  started(slot: number): boolean {
    const word = Atomics.load(this.words, threadIndex(slot));
    return word > 0 || word === DONE;
  }

  /** No worker has started the slot's task, nor will: taken back, or never claimed. */
  unstarted(slot: number): boolean {
    const word = Atomics.load(this.words, threadIndex(slot));
    return word === 0 || word === REVOKED;
  }

  /**
   * Takes back a task no worker has started: true if it was still unclaimed (no worker will
   * start it now), false if a worker has it. Its state says CANCEL too, for good measure.
   */
  revoke(slot: number): boolean {
    if (Atomics.compareExchange(this.words, threadIndex(slot), 0, REVOKED) !== 0) return false;
    this.set(slot, CANCEL);
    return true;
  }
}
