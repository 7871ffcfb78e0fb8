/**
 * The Prometheus text exposition format (version 0.0.4), for `rt.metricsText()` and the
 * dashboard's /metrics. Gauges of the tasks per status and of the threads; counters of the
 * tasks this host finished per type and status, and histograms of their run and wait times
 * per type, since its runtime opened.
 */
import { TASK_STATUSES, type TaskStats } from '../types.js';
import { BUCKETS, type BucketHistogram } from './bucket-histogram.js';
import type { RuntimeMetrics } from './metrics.js';

/** Run and wait times by task type. */
export interface TaskHistograms {
  run: ReadonlyMap<string, BucketHistogram>;
  wait: ReadonlyMap<string, BucketHistogram>;
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `metrics` and `histograms` are null for a reader of the store that runs nothing (an inspector). */
export function metricsText(input: { stats: TaskStats; metrics: RuntimeMetrics | null; threads: number; histograms: TaskHistograms | null }): string {
  const lines: string[] = [];
  lines.push('# HELP offthread_tasks Tasks in the store, by status.', '# TYPE offthread_tasks gauge');
  for (const status of TASK_STATUSES) lines.push(`offthread_tasks{status="${status}"} ${input.stats[status]}`);
  lines.push('# HELP offthread_threads Worker threads of this host.', '# TYPE offthread_threads gauge', `offthread_threads ${input.threads}`);
  if (input.metrics !== null) {
    lines.push('# HELP offthread_tasks_finished_total Tasks this host finished since its runtime opened, by type and status.');
    lines.push('# TYPE offthread_tasks_finished_total counter');
    for (const [type, group] of Object.entries(input.metrics.types)) {
      for (const status of ['completed', 'failed', 'cancelled'] as const) {
        lines.push(`offthread_tasks_finished_total{type="${label(type)}",status="${status}"} ${group[status]}`);
      }
    }
  }
  if (input.histograms !== null) {
    histogramLines(lines, 'offthread_task_run_seconds', 'Run time of the tasks this host finished since its runtime opened, by type.', input.histograms.run);
    histogramLines(lines, 'offthread_task_wait_seconds', 'Time from submit to start of the tasks this host finished since its runtime opened, by type.', input.histograms.wait);
  }
  return `${lines.join('\n')}\n`;
}

function histogramLines(lines: string[], name: string, help: string, byType: ReadonlyMap<string, BucketHistogram>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [type, h] of byType) {
    const t = label(type);
    let cumulative = 0;
    for (let i = 0; i < BUCKETS.length; i++) {
      cumulative += h.counts[i]!;
      lines.push(`${name}_bucket{type="${t}",le="${BUCKETS[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{type="${t}",le="+Inf"} ${h.count}`, `${name}_sum{type="${t}"} ${h.sum}`, `${name}_count{type="${t}"} ${h.count}`);
  }
}

/** A label value as the format wants it: backslash, quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
