import { describe, expect, it } from 'vitest';
import { MetricsRecorder, type GroupMetrics, type TaskSample } from '../src/streams/metrics.js';
import { openRuntime } from './helpers.js';

// A fixed, injected clock: nothing here reads the wall clock or sleeps.
const T0 = 1_700_000_000_000;

function sample(over: Partial<TaskSample> = {}): TaskSample {
  return { type: 'a', priority: 'normal', status: 'completed', runMs: 10, waitMs: 1, at: T0, ...over };
}

const empty: GroupMetrics = {
  completed: 0,
  failed: 0,
  cancelled: 0,
  runMs: { p50: 0, p95: 0, p99: 0, max: 0 },
  waitMs: { p50: 0, p95: 0, p99: 0, max: 0 },
  throughputPerMin: 0,
};

// The histograms keep two significant figures: a percentile is within 1% of the truth.
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.01);
}

describe('MetricsRecorder', () => {
  it('gives zeros for every priority and no types before any sample', () => {
    const snapshot = new MetricsRecorder({ now: () => T0 }).snapshot();
    expect(snapshot).toEqual({ types: {}, priorities: { low: empty, normal: empty, high: empty } });
  });

  it('counts each final status per type and per priority', () => {
    const metrics = new MetricsRecorder({ now: () => T0 });
    metrics.record(sample({ type: 'a', priority: 'high', status: 'completed' }));
    metrics.record(sample({ type: 'a', priority: 'low', status: 'failed' }));
    metrics.record(sample({ type: 'b', priority: 'high', status: 'cancelled' }));
    metrics.record(sample({ type: 'b', priority: 'high', status: 'completed' }));
    const { types, priorities } = metrics.snapshot();
    expect(Object.keys(types).sort()).toEqual(['a', 'b']);
    expect(types.a).toMatchObject({ completed: 1, failed: 1, cancelled: 0 });
    expect(types.b).toMatchObject({ completed: 1, failed: 0, cancelled: 1 });
    expect(priorities.high).toMatchObject({ completed: 2, failed: 0, cancelled: 1 });
    expect(priorities.low).toMatchObject({ completed: 0, failed: 1, cancelled: 0 });
    expect(priorities.normal).toEqual(empty);
  });

  it('reports percentiles of 1..1000 ms within the precision, and the exact max', () => {
    const metrics = new MetricsRecorder({ now: () => T0 });
    for (let ms = 1; ms <= 1000; ms++) metrics.record(sample({ runMs: ms, waitMs: ms / 10 }));
    const { runMs, waitMs } = metrics.snapshot().types.a!;
    expectNear(runMs.p50, 500);
    expectNear(runMs.p95, 950);
    expectNear(runMs.p99, 990);
    expect(runMs.max).toBe(1000);
    expectNear(waitMs.p50, 50);
    expect(waitMs.max).toBe(100);
    expect(runMs.p99).toBeLessThanOrEqual(runMs.max);
  });

  it('keeps sub-millisecond times and clamps absurd ones instead of throwing', () => {
    const metrics = new MetricsRecorder({ now: () => T0 });
    metrics.record(sample({ type: 'fast', runMs: 0.25, waitMs: 0 }));
    metrics.record(sample({ type: 'odd', runMs: Number.NaN, waitMs: 1e15 }));
    const { fast, odd } = metrics.snapshot().types;
    expect(fast!.runMs.max).toBe(0.25);
    expect(fast!.waitMs.max).toBe(0.001); // 0 is recorded as the 1 µs floor
    expect(odd!.runMs.max).toBe(0.001);
    expect(odd!.waitMs.max).toBe(7 * 24 * 3600 * 1000); // clamped to a week
  });

  it('skips null run and wait times but still counts the task', () => {
    const metrics = new MetricsRecorder({ now: () => T0 });
    metrics.record(sample({ status: 'cancelled', runMs: null, waitMs: 5 }));
    metrics.record(sample({ status: 'cancelled', runMs: null, waitMs: null }));
    const a = metrics.snapshot().types.a!;
    expect(a.cancelled).toBe(2);
    expect(a.runMs).toEqual({ p50: 0, p95: 0, p99: 0, max: 0 });
    expect(a.waitMs.max).toBe(5);
    expect(a.throughputPerMin).toBe(2);
  });

  it('counts throughput over the last 60 seconds only', () => {
    let now = T0;
    const metrics = new MetricsRecorder({ now: () => now });
    metrics.record(sample({ at: T0 }));
    metrics.record(sample({ at: T0 + 500 }));
    metrics.record(sample({ at: T0 + 30_000 }));
    now = T0 + 30_000;
    expect(metrics.snapshot().types.a!.throughputPerMin).toBe(3);
    now = T0 + 59_999; // T0's second is still inside the window
    expect(metrics.snapshot().types.a!.throughputPerMin).toBe(3);
    now = T0 + 60_000; // T0's second has left it
    expect(metrics.snapshot().types.a!.throughputPerMin).toBe(1);
    now = T0 + 90_000;
    expect(metrics.snapshot().priorities.normal.throughputPerMin).toBe(0);
    // Counters stay: only the throughput decays.
    expect(metrics.snapshot().types.a!.completed).toBe(3);
  });

  it('reuses a slot a minute later and ignores samples older than the window', () => {
    let now = T0;
    const metrics = new MetricsRecorder({ now: () => now });
    metrics.record(sample({ at: T0 }));
    metrics.record(sample({ at: T0 + 60_000 })); // same slot, next lap of the ring
    metrics.record(sample({ at: T0 + 100 })); // late arrival for a lap already gone
    now = T0 + 60_000;
    expect(metrics.snapshot().types.a!.throughputPerMin).toBe(1);
    expect(metrics.snapshot().types.a!.completed).toBe(3);
  });

  it('stays bounded: a million samples of one type keep one type key', () => {
    const metrics = new MetricsRecorder({ now: () => T0 + 59_000 });
    const s = sample();
    for (let i = 0; i < 1_000_000; i++) {
      s.runMs = i % 1000;
      s.at = T0 + (i % 60) * 1000;
      metrics.record(s);
    }
    const { types, priorities } = metrics.snapshot();
    expect(Object.keys(types)).toEqual(['a']);
    expect(Object.keys(priorities).sort()).toEqual(['high', 'low', 'normal']);
    expect(types.a!.completed).toBe(1_000_000);
    expect(types.a!.throughputPerMin).toBe(1_000_000);
    expect(types.a!.runMs.max).toBe(999);
  });

  it('hands out fresh plain objects, with any type name as an own key', () => {
    const metrics = new MetricsRecorder({ now: () => T0 });
    metrics.record(sample({ type: '__proto__' }));
    const first = metrics.snapshot();
    expect(Object.keys(first.types)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(first.types)).toBe(Object.prototype);
    first.types['__proto__']!.completed = 99;
    first.priorities.normal.runMs.max = 99;
    const second = metrics.snapshot();
    expect(second.types['__proto__']!.completed).toBe(1);
    expect(second.priorities.normal.runMs.max).toBe(10);
    expect(JSON.parse(JSON.stringify(second))).toEqual(second);
  });
});

describe('metricsText', () => {
  it('writes the Prometheus text format: status gauges, finished counters and run/wait histograms per type', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    await Promise.all([1, 2, 3].map(async (n) => (await rt.submit('echo', n)).result()));
    await expect((await rt.submit('fail', 'no')).result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const text = await rt.metricsText();
    expect(text).toMatch(/^# TYPE offthread_tasks gauge$/m);
    expect(text).toMatch(/^offthread_tasks\{status="completed"\} 3$/m);
    expect(text).toMatch(/^offthread_tasks\{status="failed"\} 1$/m);
    expect(text).toMatch(/^offthread_threads 2$/m);
    expect(text).toMatch(/^offthread_tasks_finished_total\{type="echo",status="completed"\} 3$/m);
    expect(text).toMatch(/^offthread_tasks_finished_total\{type="fail",status="failed"\} 1$/m);
    expect(text).toMatch(/^# TYPE offthread_task_run_seconds histogram$/m);
    expect(text).toMatch(/^offthread_task_run_seconds_count\{type="echo"\} 3$/m);
    expect(text).toMatch(/^offthread_task_wait_seconds_count\{type="echo"\} 3$/m);
    // Buckets are cumulative, and +Inf holds every observation.
    const buckets = [...text.matchAll(/^offthread_task_run_seconds_bucket\{type="echo",le="([^"]+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(3);
    expect(text.endsWith('\n')).toBe(true);
    await rt.close();
  });
});
