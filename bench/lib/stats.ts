/** Summaries of repeated measurements: the bench reports medians with their min-max. */

export interface Metric {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarize(samples: readonly number[]): Metric {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: sorted.length === 0 ? NaN : median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, samples: [...samples] };
}

/** Collects samples per row and per metric, in the order rows were first seen. */
export class Samples {
  private readonly rows = new Map<string, Map<string, number[]>>();

  add(row: string, metric: string, value: number): void {
    let metrics = this.rows.get(row);
    if (!metrics) this.rows.set(row, (metrics = new Map()));
    let xs = metrics.get(metric);
    if (!xs) metrics.set(metric, (xs = []));
    xs.push(value);
  }

  has(row: string): boolean {
    return this.rows.has(row);
  }

  metrics(row: string): Record<string, Metric> {
    const out: Record<string, Metric> = {};
    for (const [name, xs] of this.rows.get(row) ?? []) out[name] = summarize(xs);
    return out;
  }
}

export interface LoopDelay {
  /** monitorEventLoopDelay's percentiles and max, ms. */
  p50: number;
  p99: number;
  max: number;
  /** How many delays the histogram recorded (about one per ms the loop turned). */
  count: number;
  /**
   * The longest time between two turns of the loop, ms, counting from the start and to the
   * end of `fn`. The histogram cannot see a stall at the start (its first timer only sets
   * its clock), so a run that blocks the loop throughout records nothing there.
   */
  stall: number;
}

/** Runs `fn` with the main thread's event-loop delay recorded (perf_hooks, 1 ms resolution). */
export async function withLoopDelay<T>(fn: () => Promise<T>): Promise<LoopDelay & { value: T }> {
  const { monitorEventLoopDelay, performance } = await import('node:perf_hooks');
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let stall = 0;
  const tick = () => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  };
  const ticker = setInterval(tick, 1);
  histogram.enable();
  try {
    const value = await fn();
    histogram.disable();
    tick();
    const ms = (ns: number) => (histogram.count === 0 ? 0 : ns / 1e6);
    return { value, p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), count: histogram.count, stall };
  } finally {
    histogram.disable();
    clearInterval(ticker);
  }
}

/** A full GC when node runs with --expose-gc, so one measurement's garbage is not the next one's pause. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
