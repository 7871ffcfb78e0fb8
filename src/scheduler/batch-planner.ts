/**
 * How many tasks one call to a worker may carry.
 *
 * Piscina's own per-call work is most of a no-op task's cost, so short tasks travel in
 * batches taken from the top of the heap (priority order is kept: a batch is a prefix of
 * the heap). A batch is sized so its expected run time stays under `budgetMs`: a
 * high-priority task submitted meanwhile waits behind at most that much batched work.
 * A type is batched only once it has been seen to be short; its first tasks go alone.
 */
export interface BatchPlannerOptions {
  /** Expected run time of one batch, at most. @default 2 */
  budgetMs: number;
  /** Tasks per batch, at most. @default 64 */
  maxBatch: number;
}

const SMOOTHING = 0.2;

export class BatchPlanner {
  /** Exponentially weighted mean run time per task type, in ms. */
  private readonly meanRunMs = new Map<string, number>();

  constructor(private readonly options: BatchPlannerOptions) {}

  get maxBatch(): number {
    return this.options.maxBatch;
  }

  /** The expected run time of a task of this type, or undefined if none has run yet. */
  estimate(type: string): number | undefined {
    return this.meanRunMs.get(type);
  }

  /** Whether a task of this type may go with others in one call. */
  isShort(type: string): boolean {
    const mean = this.meanRunMs.get(type);
    return mean !== undefined && mean * 2 <= this.options.budgetMs;
  }

  /**
   * Whether a batch whose tasks are expected to take `plannedMs` may take one more of this
   * type, within `share` of the budget (a batch sent ahead of another gets half).
   */
  fits(plannedMs: number, size: number, type: string, share = 1): boolean {
    if (size >= this.options.maxBatch || !this.isShort(type)) return false;
    return plannedMs + this.meanRunMs.get(type)! <= this.options.budgetMs * share;
  }

  /** The longest expected run of the types seen so far, or undefined before any has run. */
  longestMs(): number | undefined {
    if (this.meanRunMs.size === 0) return undefined;
    let longest = 0;
    for (const mean of this.meanRunMs.values()) longest = Math.max(longest, mean);
    return longest;
  }

  /**
   * How many tasks a call carries, as far as can be told from the types seen so far: one
   * while any is long or none has run yet, else as many of the longest as fit the budget.
   * (A host of a shared queue claims that many per thread at a time.)
   */
  tasksPerCall(): number {
    const longest = this.longestMs();
    if (longest === undefined || longest * 2 > this.options.budgetMs) return 1;
    return Math.max(1, Math.min(this.options.maxBatch, Math.floor(this.options.budgetMs / Math.max(longest, 0.001))));
  }

  record(type: string, runMs: number): void {
    const mean = this.meanRunMs.get(type);
    this.meanRunMs.set(type, mean === undefined ? runMs : mean + SMOOTHING * (runMs - mean));
  }
}
