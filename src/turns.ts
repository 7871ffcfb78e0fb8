/**
 * Long work on the main thread goes in slices: a piece at a time, and once a turn of the
 * event loop has used its budget, the loop turns (timers, I/O, the workers' messages) before
 * the work goes on. The budget is in time, not items: a slice is as short on a busy machine
 * as on a quiet one.
 */
import { performance } from 'node:perf_hooks';

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Work per turn, well under the 10 ms event-loop delay the runtime is held to (docs/design.md):
 * a young-generation GC of 5-9 ms can land in the same turn (the tasks of a burst survive
 * it), so 4 ms slices still made 11-13 ms turns. 1 ms rather than 2: 100k no-ops through 2
 * threads, event-loop p99 7.4-9.3 ms against 8.3-12.1 (p50 1.1-1.8 against 3.0-3.3), and a
 * submit loop's sealed commits, sliced finer, leave the dispatcher more turns to feed the
 * threads (3.8-4.0x raw Piscina against 3.1-3.3x, in turns).
 */
export const TURN_BUDGET_MS = 1;
/** Items per turn at most, however fast they go: a slow-looking item count stays bounded too. */
export const TURN_MAX_ITEMS = 1000;

/** Reading the clock costs ~50 ns; once per CHECK_EVERY items keeps it out of the profile. */
const CHECK_EVERY = 32;

export class TurnBudget {
  #start = performance.now();
  #items = 0;

  /** Counts one item; true once this turn's budget is spent (then `await budget.nextTurn()`). */
  spent(): boolean {
    const items = ++this.#items;
    if (items >= TURN_MAX_ITEMS) return true;
    return items % CHECK_EVERY === 0 && performance.now() - this.#start >= TURN_BUDGET_MS;
  }

  /** Counts `count` items done together; true once this turn's budget is spent. */
  spentBy(count: number): boolean {
    this.#items += count;
    return this.#items >= TURN_MAX_ITEMS || performance.now() - this.#start >= TURN_BUDGET_MS;
  }

  /** Lets the event loop turn, then starts a new budget. */
  async nextTurn(): Promise<void> {
    await nextTurn();
    this.#start = performance.now();
    this.#items = 0;
  }
}
