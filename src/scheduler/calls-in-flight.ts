/**
 * The calls sent to the threads and not yet ended, and what can be done with the tasks they
 * carry before a thread begins them: see whether a call still owns a task, take unstarted
 * tasks back (for a higher-priority task, or from behind a task asleep at a checkpoint),
 * and find the tasks threads have begun without a word. The dispatcher's own part.
 */
import type { ControlSlots } from '../workers/control.js';
import type { Call, LiveTask } from './live-task.js';
import type { DispatchSource } from './ports.js';

export class CallsInFlight {
  readonly #calls = new Set<Call>();
  /** Calls that may be taken back for a higher-priority task (not batches of short tasks). */
  #revocable = 0;
  readonly #controls: ControlSlots;
  readonly #source: DispatchSource;

  constructor(controls: ControlSlots, source: DispatchSource) {
    this.#controls = controls;
    this.#source = source;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Some call holds tasks of a known length that could still be taken back. */
  get anyRevocable(): boolean {
    return this.#revocable > 0;
  }

  add(call: Call): void {
    if (call.revocable) this.#revocable++;
    this.#calls.add(call);
  }

  /** The call is over: its control slots go back to the free list. */
  end(call: Call): void {
    if (call.revocable) this.#revocable--;
    for (const slot of call.slots) this.#controls.release(slot);
    this.#calls.delete(call);
  }

  /** The task's call is still the one that owns it (not taken back, not ended). */
  owns(call: Call, index: number): LiveTask | undefined {
    const task = call.tasks[index]!;
    return task.slot === call.slots[index] && !task.ended ? task : undefined;
  }

  /** Some thread holds a task asleep at a checkpoint. */
  anyAsleep(): boolean {
    for (const call of this.#calls) {
      for (let i = 0; i < call.tasks.length; i++) if (this.owns(call, i)?.phase === 'suspended') return true;
    }
    return false;
  }

  /**
   * No call is at work any more: each has no task of its own left, or one asleep at a
   * checkpoint (a call whose tasks were all taken back only waits behind such a sleeper).
   */
  idle(): boolean {
    for (const call of this.#calls) {
      let owned = false;
      let asleep = false;
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task === undefined) continue;
        owned = true;
        if (task.phase === 'suspended') asleep = true;
      }
      if (owned && !asleep) return false;
    }
    return true;
  }

  /** Each task sent without a start of its own whose thread has begun it. */
  *begun(): IterableIterator<LiveTask> {
    for (const call of this.#calls) {
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task !== undefined && task.phase === 'dispatched' && this.#controls.started(task.slot)) yield task;
      }
    }
  }

  /**
   * Tasks of a known length on the threads that `rank` outranks go back to the heap, if
   * their threads have not begun them: the thread is then free for the higher one once it
   * finishes the task in hand.
   */
  revokeBelow(rank: number): void {
    let lowest = Number.POSITIVE_INFINITY;
    for (const call of this.#calls) if (call.lowRank < lowest) lowest = call.lowRank;
    if (rank <= lowest) return;
    for (const call of this.#calls) {
      if (call.lowRank < rank) call.lowRank = this.#takeBackCall(call, (task) => task.rank < rank);
    }
  }

  /**
   * A group that was idle has a task at the top of the heap (`rank`, `turn`): the tasks of its
   * rank with later turns that were sent and not begun go back to the heap, so it runs before
   * them, if there are more than `slack` of them (fewer are not worth the calls sent again).
   * Batches of short tasks included: what a group is owed is its place, not a wait of ~1 ms.
   * A batch handler's call is left alone (its tasks are one call of the handler).
   */
  yieldTurn(rank: number, turn: number, slack: number): void {
    let later = 0;
    for (const call of this.#calls) {
      if (call.handlerBatch) continue;
      for (let i = 0; i < call.tasks.length; i++) if (this.#isLater(call, i, rank, turn)) later++;
    }
    if (later <= slack) return;
    for (const call of this.#calls) {
      if (call.handlerBatch) continue;
      const lowRank = this.#takeBackCall(call, (task) => task.rank === rank && task.turn > turn);
      // Only a call of tasks of a known length is ranked for revokeBelow (see add).
      if (call.revocable) call.lowRank = lowRank;
    }
  }

  /** The call's i-th task is still its own, not begun, of `rank` and a later turn than `turn`. */
  #isLater(call: Call, i: number, rank: number, turn: number): boolean {
    const task = this.owns(call, i);
    return task !== undefined && task.phase === 'dispatched' && task.rank === rank && task.turn > turn && this.#controls.unstarted(task.slot);
  }

  /**
   * A task of this call sleeps at a checkpoint: the tasks queued behind it in the same batch
   * would wait for as long as it stays paused, so they are taken back and queued again.
   */
  takeBackBehind(call: Call): void {
    call.lowRank = this.#takeBackCall(call);
    // A call sent ahead may be queued behind this one on its thread: one that has not
    // started anything is taken back too (the host cannot tell which thread holds it).
    for (const other of this.#calls) {
      if (other !== call && other.ahead && other.slots.every((slot) => this.#controls.unstarted(slot))) other.lowRank = this.#takeBackCall(other);
    }
  }

  /**
   * Takes a task back from the call it was sent in, before it started: its slot says no
   * worker may start it now (see ControlSlots.revoke), and the outcome for that slot is
   * ignored. False if its worker has started it (or even finished it: its outcome is on the
   * way); it stays where it is.
   */
  takeBack(task: LiveTask): boolean {
    if (!this.#controls.revoke(task.slot)) return false;
    task.slot = -1;
    return true;
  }

  /**
   * The unstarted tasks of a call that `goesBack` picks (all, by default) go back to the
   * heap. Answers the lowest rank among those it keeps (its new lowRank).
   */
  #takeBackCall(call: Call, goesBack: (task: LiveTask) => boolean = () => true): number {
    let lowRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < call.tasks.length; i++) {
      const task = this.owns(call, i);
      if (task === undefined || task.phase !== 'dispatched') continue;
      if (!goesBack(task)) {
        lowRank = Math.min(lowRank, task.rank);
      } else if (this.takeBack(task)) {
        this.#source.takenBack(task);
      } // else its thread has started it: it can no longer be taken back
    }
    return lowRank;
  }
}
