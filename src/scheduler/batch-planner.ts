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

  record(type: string, runMs: number): void {
    const mean = this.meanRunMs.get(type);
    this.meanRunMs.set(type, mean === undefined ? runMs : mean + SMOOTHING * (runMs - mean));
  }
}
