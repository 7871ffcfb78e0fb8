/**
 * The overview's chart: tasks finished per minute over the last hour, counted from the
 * finished rows' end times. The store lists by creation, so the newest ROWS finished tasks
 * are read (a bound on the cost, and on what the chart can count), at most once per
 * CACHE_MS whatever the number of open pages.
 *
 * While the dashboard follows a runtime's events (a page listens), one such read seeds the
 * counts and every end told after it adds to them: a busy runtime is not read ROWS rows a
 * second for its chart.
 */
import type { TaskEvent } from '../types.js';
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

/** Counts per minute kept from a read, then from the ends told after it. */
interface Counted {
  perMinute: Map<number, number>;
  /** Ends at or before this time were in the read. */
  after: number;
  /** The read was capped: minutes up to this one may be undercounted. */
  cappedTo: number | null;
}

export class Throughput {
  private cached: { at: number; finished: number; chart: Promise<ThroughputChart> } | undefined;
  private following = false;
  /** Set once a read has seeded them while following; undefined otherwise. */
  private counted: Counted | undefined;
  private seeding: Promise<void> | undefined;
  /** Counts each follow(), so a read started before the last one is not taken as its seed. */
  private generation = 0;

  constructor(private readonly source: DashboardSource) {}

  /** Whether every end is told to add() from now on (the dashboard follows the events). */
  follow(on: boolean): void {
    this.following = on;
    this.generation++;
    this.counted = undefined;
    this.seeding = undefined;
  }

  /** An event the dashboard heard: an end counts in its minute. */
  add(event: TaskEvent): void {
    const counted = this.counted;
    if (counted === undefined || event.at <= counted.after) return;
    if (event.type !== 'completed' && event.type !== 'failed' && event.type !== 'cancelled') return;
    const minute = Math.floor(event.at / 60_000);
    counted.perMinute.set(minute, (counted.perMinute.get(minute) ?? 0) + 1);
  }

  /** @param finished how many finished tasks the store holds now: a change means a new count. */
  async lastHour(finished: number, now = Date.now()): Promise<ThroughputChart> {
    if (this.following && this.counted === undefined) {
      const seeding = (this.seeding ??= this.seed());
      await seeding.catch(() => undefined);
    }
    if (this.counted !== undefined) return chartOf(this.counted, now);
    const cached = this.cached;
    if (cached !== undefined) {
      const age = now - cached.at;
      if (age <= CACHE_MS && (cached.finished === finished || age < MIN_MS)) return cached.chart;
    }
    const chart = this.read().then((tasks) => chartOf(countOf(tasks), now));
    this.cached = { at: now, finished, chart };
    chart.catch(() => {
      if (this.cached?.chart === chart) this.cached = undefined;
    });
    return chart;
  }

  private async seed(): Promise<void> {
    const generation = this.generation;
    try {
      const tasks = await this.read();
      // Stopped following, or started again, meanwhile: this read is not theirs.
      if (this.following && this.generation === generation) this.counted = countOf(tasks);
    } finally {
      // A failed read is tried again by the next chart.
      if (this.generation === generation && this.counted === undefined) this.seeding = undefined;
    }
  }

  private read() {
    return this.source.list({ status: ['completed', 'failed', 'cancelled'], limit: ROWS });
  }
}

function countOf(tasks: readonly { completedAt: number | null }[]): Counted {
  const perMinute = new Map<number, number>();
  let after = 0;
  let oldest = Infinity;
  for (const task of tasks) {
    if (task.completedAt === null) continue;
    const minute = Math.floor(task.completedAt / 60_000);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    if (task.completedAt > after) after = task.completedAt;
    if (minute < oldest) oldest = minute;
  }
  return { perMinute, after, cappedTo: tasks.length === ROWS && oldest !== Infinity ? oldest : null };
}

function chartOf(counted: Counted, now: number): ThroughputChart {
  const lastMinute = Math.floor(now / 60_000);
  const first = lastMinute - MINUTES + 1;
  const finished = new Array<number>(MINUTES).fill(0);
  for (const [minute, count] of counted.perMinute) {
    if (minute >= first && minute <= lastMinute) finished[minute - first] = count;
    // Minutes that left the window are of no more use.
    else if (minute < first) counted.perMinute.delete(minute);
  }
  return { minutes: finished.map((_, i) => (first + i) * 60), finished, capped: counted.cappedTo !== null && counted.cappedTo >= first };
}
