/**
 * How long the dispatcher may keep feeding the threads within one turn of the event loop.
 *
 * Node hands a port's messages to the host in one go, up to 1000 of them, counting those that
 * arrive while it does. Threads that answer short tasks as fast as they are sent keep that go
 * running: each answer frees a thread, dispatch sends it more, and its next answer is already
 * in by the time the host has recorded the last one. One turn then took 20-40 ms of finishing
 * tasks (100k no-ops, 2 threads) while timers and I/O waited. So after TURN_BUDGET_MS of a
 * turn, dispatch stops; the calls in flight come back, the loop turns, and dispatch goes on
 * from a setImmediate.
 */
import { performance } from 'node:perf_hooks';
import { TURN_BUDGET_MS } from '../turns.js';

// Measured with dispatch's own budget (2 ms first): event-loop p99 over 100k no-ops, 3 runs
// each of a submit loop and a submitMany, 9.0-11.3 ms at 2 ms, 8.0-10.6 at 1, 8.2-9.1 at 0.5
// (which left the threads idle: the flow took ~30% longer). Throughput at 1 and 2 ms alike.

export class DispatchTurn {
  /** When this turn's first dispatch ran, or undefined while no turn is open. */
  #start: number | undefined;
  #deferred = false;

  constructor(
    private readonly resume: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Opens the turn's clock, if it is not open yet: work done before dispatch counts too. */
  begin(): void {
    if (this.#start !== undefined) return;
    this.#start = this.now();
    setImmediate(() => this.#endTurn());
  }

  /** True once this turn's budget is spent: the caller returns, and is called again next turn. */
  spent(): boolean {
    if (this.#start === undefined) {
      this.begin();
      return false;
    }
    if (this.now() - this.#start < TURN_BUDGET_MS) return false;
    this.#deferred = true;
    return true;
  }

  #endTurn(): void {
    this.#start = undefined;
    if (!this.#deferred) return;
    this.#deferred = false;
    this.resume();
  }
}
