/**
 * The outcomes of a call go back together, when its last task ends: one message for a batch
 * of short tasks instead of one per task. But then a task that ended early in a call waits
 * for the rest of it: its result, and a pause or cancel of it, would wait for as long as a
 * later task of the call runs, however long that is (an estimate that was wrong, a handler
 * that waits on something, one asleep at a checkpoint). So once a later task of its call
 * has run EARLY_MS, or just before the thread sleeps at a checkpoint, an ended task's
 * outcome is told on its own. A call that ends in time, the common case, posts nothing more.
 */
import type { TaskOutcome, WorkerEvent } from './protocol.js';

/** About what the host plans a call sent ahead to take (AHEAD_MAX_MS): past that, it is not short. */
const EARLY_MS = 10;

export class EarlyOutcomes {
  readonly #post: (event: WorkerEvent) => void;
  #untold: Array<{ outcome: TaskOutcome; slot: number }> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(post: (event: WorkerEvent) => void) {
    this.#post = post;
  }

  /** A task of the call ended, and more of the call follow. */
  ended(outcome: TaskOutcome, slot: number): void {
    this.#untold.push({ outcome, slot });
  }

  /** The next task of the call starts: if it runs long, the ends before it are told. */
  next(): void {
    if (this.#untold.length > 0 && this.#timer === undefined) this.#timer = setTimeout(() => this.tell(), EARLY_MS);
  }

  /** Tells every ended task's outcome now (the host applies each once; the call's copy is ignored). */
  tell(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // The slot says which run of the task it was: one taken back and sent again has another.
    for (const { outcome, slot } of this.#untold) this.#post({ __offthread: 1, type: 'ended', id: outcome.id, slot, outcome });
    this.#untold = [];
  }

  /** The call ended: what is untold goes with its outcomes. */
  done(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#untold = [];
  }
}
