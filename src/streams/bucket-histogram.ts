/**
 * A Prometheus histogram: counts per upper bound (cumulative when written out), sum and
 * count. Fixed buckets, so a finished task costs a few comparisons and no allocation.
 */

/** Seconds: from a few ms to five minutes, then +Inf. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class BucketHistogram {
  /** Per bucket (not cumulative), the last one for values above every bound. */
  readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    const value = Math.max(0, seconds);
    let i = 0;
    while (i < BUCKETS.length && value > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}
