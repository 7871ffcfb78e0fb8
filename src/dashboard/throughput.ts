/**
 * The overview's chart: tasks finished per minute over the last hour, counted from the
 * finished rows' end times. The store lists by creation, so the newest ROWS finished tasks
 * are read (a bound on the cost, and on what the chart can count), at most once per
 * CACHE_MS whatever the number of open pages.
 */
import type { DashboardSource } from './source.js';

const MINUTES = 60;
const ROWS = 5000;
const CACHE_MS = 5000;
const MIN_MS = 1000;

export interface ThroughputChart {
  /** Epoch seconds of the start of each minute, oldest first. */
  minutes: number[];
  /** Tasks finished in each minute (completed, failed and cancelled). */
  finished: number[];
  /** True when ROWS rows were read: older minutes may be undercounted. */
  capped: boolean;
}

export class Throughput {
  private cached: { at: number; finished: number; chart: Promise<ThroughputChart> } | undefined;

  constructor(private readonly source: DashboardSource) {}

  /** @param finished how many finished tasks the store holds now: a change means a new count. */
  lastHour(finished: number, now = Date.now()): Promise<ThroughputChart> {
    const cached = this.cached;
    if (cached !== undefined) {
      const age = now - cached.at;
      if (age <= CACHE_MS && (cached.finished === finished || age < MIN_MS)) return cached.chart;
    }
    const chart = this.read(now);
    this.cached = { at: now, finished, chart };
    chart.catch(() => {
      if (this.cached?.chart === chart) this.cached = undefined;
    });
    return chart;
  }

  private async read(now: number): Promise<ThroughputChart> {
    const tasks = await this.source.list({ status: ['completed', 'failed', 'cancelled'], limit: ROWS });
    const lastMinute = Math.floor(now / 60_000);
    const first = lastMinute - MINUTES + 1;
    const finished = new Array<number>(MINUTES).fill(0);
    for (const task of tasks) {
      if (task.completedAt === null) continue;
      const minute = Math.floor(task.completedAt / 60_000);
      if (minute >= first && minute <= lastMinute) finished[minute - first]!++;
    }
    return { minutes: finished.map((_, i) => (first + i) * 60), finished, capped: tasks.length === ROWS };
  }
}
