/**
 * Per-type and per-priority task metrics in bounded memory, whatever the number of tasks.
 *
 * Each group (one per task type seen, plus the three priorities) holds three counters, two
 * HDR histograms (`perf_hooks.createHistogram`) for run and wait times, and a ring of 60
 * one-second counters for throughput. Nothing grows with the number of samples: memory is
 * proportional to the number of distinct task types only.
 *
 * `record()` runs once per finished task on the host's hot path, so it allocates nothing
 * once a type has been seen; `snapshot()` does the work of building plain objects.
 */
import { BucketHistogram } from './bucket-histogram.js';
import type { TaskHistograms } from './metrics-text.js';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Priority } from '../types.js';

export interface TaskSample {
  type: string;
  priority: Priority;
  status: 'completed' | 'failed' | 'cancelled';
  /** Null when the task never ran (cancelled while queued): not recorded. */
  runMs: number | null;
  /** Null when the task never left the queue: not recorded. */
  waitMs: number | null;
  /** Epoch ms at which the task ended; it picks the throughput bucket. */
  at: number;
}

/** Milliseconds; all 0 when there are no samples. */
export interface LatencySummary { p50: number; p95: number; p99: number; max: number }

export interface GroupMetrics {
  completed: number;
  failed: number;
  cancelled: number;
  runMs: LatencySummary;
  waitMs: LatencySummary;
  /** Tasks that finished (any status) in the last 60 s. */
  throughputPerMin: number;
}

export interface RuntimeMetrics {
  types: Record<string, GroupMetrics>;
  /** Always holds low, normal and high. */
  priorities: Record<Priority, GroupMetrics>;
}

// Two significant figures: percentiles within 1%, and ~35 KB per histogram. Three figures
// would cost ~7x the memory per histogram for precision no latency dashboard needs.
const FIGURES = 2;
// The histogram silently drops values above `highest`, so longer ones are clamped to it:
// a week in µs covers any run or wait time worth telling apart.
const HIGHEST_US = 7 * 24 * 3600 * 1_000_000;
const WINDOW_S = 60;

/** Histograms take integers >= 1, so times are kept in µs (sub-ms tasks stay distinct). */
function toMicros(ms: number): number {
  const us = Math.round(ms * 1000);
  // Written so that NaN and negatives land on 1: record() must never throw mid-hot-path.
  return us >= 1 ? (us < HIGHEST_US ? us : HIGHEST_US) : 1;
}

class Latency {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: HIGHEST_US, figures: FIGURES });
  // Tracked exactly: the histogram reports the top of the max's bucket, up to 1% above.
  private maxUs = 0;

  record(ms: number): void {
    const us = toMicros(ms);
    if (us > this.maxUs) this.maxUs = us;
    this.histogram.record(us);
  }

  summary(): LatencySummary {
    if (this.histogram.count === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
    return { p50: this.at(50), p95: this.at(95), p99: this.at(99), max: this.maxUs / 1000 };
  }

  // Clamped to the exact max so that a percentile never reads above it.
  private at(percentile: number): number {
    return Math.min(this.histogram.percentile(percentile), this.maxUs) / 1000;
  }
}

/** Finished tasks per second for the last 60 seconds, in fixed storage. */
class Throughput {
  private readonly counts = new Uint32Array(WINDOW_S);
  // The epoch second each slot currently counts; -Infinity marks an unused slot.
  private readonly seconds = new Float64Array(WINDOW_S).fill(-Infinity);

  add(atMs: number): void {
    const second = Math.floor(atMs / 1000);
    const slot = ((second % WINDOW_S) + WINDOW_S) % WINDOW_S;
    const held = this.seconds[slot]!;
    if (held !== second) {
      // The slot holds a later second, so this sample is already out of any window.
      if (held > second) return;
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]!++;
  }

  perMinute(nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < WINDOW_S; i++) {
      const second = this.seconds[i]!;
      if (second > now - WINDOW_S && second <= now) total += this.counts[i]!;
    }
    return total;
  }
}

class Group {
  private completed = 0;
  private failed = 0;
  private cancelled = 0;
  private readonly run = new Latency();
  private readonly wait = new Latency();
  private readonly throughput = new Throughput();

  add(sample: TaskSample): void {
    if (sample.status === 'completed') this.completed++;
    else if (sample.status === 'failed') this.failed++;
    else this.cancelled++;
    if (sample.runMs !== null) this.run.record(sample.runMs);
    if (sample.waitMs !== null) this.wait.record(sample.waitMs);
    this.throughput.add(sample.at);
  }

  metrics(nowMs: number): GroupMetrics {
    return {
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      runMs: this.run.summary(),
      waitMs: this.wait.summary(),
      throughputPerMin: this.throughput.perMinute(nowMs),
    };
  }
}

/**
 * A task type's group, also in fixed buckets for Prometheus (metricsText): the priorities'
 * groups have no histograms there, so they do not pay for them per task.
 */
class TypeGroup extends Group {
  readonly runBuckets = new BucketHistogram();
  readonly waitBuckets = new BucketHistogram();

  override add(sample: TaskSample): void {
    super.add(sample);
    if (sample.runMs !== null) this.runBuckets.observe(sample.runMs / 1000);
    if (sample.waitMs !== null) this.waitBuckets.observe(sample.waitMs / 1000);
  }
}

export class MetricsRecorder {
  private readonly now: () => number;
  private readonly byType = new Map<string, TypeGroup>();
  private readonly byPriority: Record<Priority, Group> = { low: new Group(), normal: new Group(), high: new Group() };

  /** @param options.now epoch ms clock for the throughput window; @default Date.now */
  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Counts one finished task. Cheap and allocation-free once its type has been seen. */
  record(sample: TaskSample): void {
    let group = this.byType.get(sample.type);
    if (group === undefined) {
      group = new TypeGroup();
      this.byType.set(sample.type, group);
    }
    group.add(sample);
    this.byPriority[sample.priority].add(sample);
  }

  /** Run and wait times by type in Prometheus buckets (live objects: read, do not keep). */
  histograms(): TaskHistograms {
    const run = new Map<string, BucketHistogram>();
    const wait = new Map<string, BucketHistogram>();
    for (const [type, group] of this.byType) {
      run.set(type, group.runBuckets);
      wait.set(type, group.waitBuckets);
    }
    return { run, wait };
  }

  /** Fresh plain objects each call, safe to hand to users. */
  snapshot(): RuntimeMetrics {
    const now = this.now();
    // fromEntries defines own properties, so a type named "__proto__" stays a plain key.
    const types = Object.fromEntries([...this.byType].map(([type, group]) => [type, group.metrics(now)]));
    return {
      types,
      priorities: {
        low: this.byPriority.low.metrics(now),
        normal: this.byPriority.normal.metrics(now),
        high: this.byPriority.high.metrics(now),
      },
    };
  }
}
