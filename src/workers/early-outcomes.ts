/**
 * The outcomes of a call go back together, when its last task ends: one message for a batch
 * of short tasks instead of one per task. But then a task that ended early in a call waits
 * for the rest of it: its result, and a pause or cancel of it, would wait for as long as a
 * later task of the call runs, however long that is (an estimate that was wrong, a handler
 * that waits on something, one asleep at a checkpoint). So once a later task of its call
 * has run EARLY_MS, or just before the thread sleeps at a checkpoint, an ended task's
 * outcome is told on its own. A call that ends in time, the common case, posts nothing more.
 */
import type { TaskOutcome, TaskRequest, WorkerEvent } from './protocol.js';

/** About what the host plans a call sent ahead to take (AHEAD_MAX_MS): past that, it is not short. */
const EARLY_MS = 10;

/**
 * Reads the call's own arrays: the outcomes ended so far are the first `#ended`, those told
 * the first `#told`, so a task of a batch costs a counter, not an entry of its own.
 */
export class EarlyOutcomes {
  readonly #post: (event: WorkerEvent) => void;
  readonly #tasks: readonly TaskRequest[];
  readonly #outcomes: readonly TaskOutcome[];
  #ended = 0;
  #told = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(post: (event: WorkerEvent) => void, tasks: readonly TaskRequest[], outcomes: readonly TaskOutcome[]) {
    this.#post = post;
    this.#tasks = tasks;
    this.#outcomes = outcomes;
  }

  /** The next task of the call has its outcome in place, and more of the call follow. */
  ended(): void {
    this.#ended++;
  }

  /** The next task of the call starts: if it runs long, the ends before it are told. */
  next(): void {
    if (this.#ended > this.#told && this.#timer === undefined) this.#timer = setTimeout(() => this.tell(), EARLY_MS);
  }

  /** Tells every ended task's outcome now (the host applies each once; the call's copy is ignored). */
  tell(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // The slot says which run of the task it was: one taken back and sent again has another.
    for (; this.#told < this.#ended; this.#told++) {
      const task = this.#tasks[this.#told]!;
      this.#post({ __offthread: 1, type: 'ended', id: task.id, slot: task.slot, outcome: this.#outcomes[this.#told]! });
    }
  }

  /** The call ended: what is untold goes with its outcomes. */
  done(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
