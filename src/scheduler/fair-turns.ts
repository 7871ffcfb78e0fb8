/**
 * Round-robin across groups (SubmitOptions.group): each task gets a *turn* when it is
 * admitted, and the ready heap orders by priority, then turn, then submit order. A group's
 * tasks take turns 0, 1, 2... from where that group left off, but never before the turn of
 * the latest task started (start-time fair queueing): a group that arrives with 10 tasks while
 * another has 100,000 queued gets its turns interleaved with the big one's next ones, not
 * behind them, and a group that was idle gains no backlog of credit. Tasks without a group
 * are one group among the others.
 *
 * Why the latest *started* turn, not the latest sent: short tasks are sent to the threads in
 * batches, and ahead of the call a thread is running (./dispatcher.ts), so up to a few hundred
 * of a big group's tasks may be on their way and not begun when a small group arrives. Its
 * turns come before theirs; `owedAhead` says so, and the dispatcher takes those tasks back
 * (CallsInFlight.yieldTurn) when there are more than a few.
 *
 * One scale for all priorities: without groups every task is in the one group and turns
 * follow submit order, so the heap orders exactly as it did by submit order alone, aging and
 * setPriority included (a task keeps its turn for its whole life, as it kept its seq). The
 * price: a group's turns count its tasks of every priority, so a group with a long queue of
 * low-priority tasks takes its high-priority turns after another group's. A reopened file's
 * tasks take their seqs as turns (see `restored`): they run in submit order within a
 * priority, as the loader and its backlog check assume; turns are taken afresh from there.
 */

/** A group's counter is dropped once it is behind the latest turn started (nothing to remember). */
const PRUNE_AT = 10_000;

export class FairTurns {
  /** The turn of the latest task started: where a group that was idle comes in. */
  #served = 0;
  /** The latest turn taken from the heap (sent to a thread, begun or not). */
  #taken = 0;
  /** Per group: the next turn it would get. */
  readonly #next = new Map<string | null, number>();
  /** Groups held before the next prune: doubled when a prune frees little, so pruning stays O(1) a task, amortized. */
  #pruneAt = PRUNE_AT;

  assign(group: string | null): number {
    const next = this.#next.get(group);
    if (next === undefined && this.#next.size >= this.#pruneAt) this.#prune();
    const turn = next === undefined || next < this.#served ? this.#served : next;
    this.#next.set(group, turn + 1);
    return turn;
  }

  /**
   * A task read back from a file keeps its place: its turn is its seq, whatever order it is
   * loaded in (a reopened queue loads by priority, and a command loads one early). Its
   * group's next turn comes after it.
   */
  restored(group: string | null, seq: number): number {
    const next = this.#next.get(group);
    if (next === undefined || next <= seq) this.#next.set(group, seq + 1);
    return seq;
  }

  /**
   * A reopened file's tasks are read back with their seqs as turns: new tasks without a
   * group queue behind all of them (as by submit order before), while a new group's first
   * turn is the one taken last, so it is not queued behind a restored backlog.
   */
  reopened(nextSeq: number): void {
    const next = this.#next.get(null);
    if (next === undefined || next < nextSeq) this.#next.set(null, nextSeq);
  }

  /** A task was taken from the heap (sent to a thread). */
  taken(turn: number): void {
    if (turn > this.#taken) this.#taken = turn;
  }

  /** A task started: turns before its own are past. */
  started(turn: number): void {
    if (turn > this.#served) this.#served = turn;
  }

  /** Tasks with later turns have been taken from the heap: one with this turn is owed a place ahead of those not yet begun. */
  owedAhead(turn: number): boolean {
    return turn < this.#taken;
  }

  #prune(): void {
    for (const [group, next] of this.#next) if (next <= this.#served) this.#next.delete(group);
    this.#pruneAt = Math.max(PRUNE_AT, 2 * this.#next.size);
  }
}
