/**
 * Run and wait times per task type as Prometheus histograms (cumulative buckets, sum,
 * count), counted from the events seen while the dashboard is open. A task created before
 * it opened is looked up once when it ends, for its type and times.
 */
import type { Task, TaskEvent } from '../types.js';

/** Seconds: from a few ms to five minutes, then +Inf. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Tasks between their created and ended events, at most: the oldest is dropped past it. */
const PENDING = 100_000;

export class Histogram {
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

interface Pending {
  type: string | null;
  createdAt: number | null;
  startedAt: number | null;
}

export class LatencyHistograms {
  readonly run = new Map<string, Histogram>();
  readonly wait = new Map<string, Histogram>();
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly lookup: (id: string) => Promise<Task | undefined>) {}

  add(event: TaskEvent): void {
    switch (event.type) {
      case 'created':
        this.remember(event.taskId, { type: event.taskType, createdAt: event.at, startedAt: null });
        return;
      case 'started': {
        const pending = this.pending.get(event.taskId);
        if (pending === undefined) this.remember(event.taskId, { type: null, createdAt: null, startedAt: event.at });
        else {
          // A retry's wait is from its first creation: the queue time a user saw.
          if (pending.startedAt === null && pending.type !== null && pending.createdAt !== null) {
            histogram(this.wait, pending.type).observe((event.at - pending.createdAt) / 1000);
          }
          pending.startedAt = event.at;
        }
        return;
      }
      case 'completed':
      case 'failed':
      case 'cancelled': {
        const pending = this.pending.get(event.taskId);
        this.pending.delete(event.taskId);
        if (pending?.type != null) {
          if (pending.startedAt !== null) histogram(this.run, pending.type).observe((event.at - pending.startedAt) / 1000);
          return;
        }
        // Created before the dashboard opened: its row has the rest.
        this.lookup(event.taskId)
          .then((task) => {
            if (task === undefined || task.startedAt === null) return;
            const startedAt = pending?.startedAt ?? task.startedAt;
            histogram(this.run, task.type).observe(((task.completedAt ?? event.at) - startedAt) / 1000);
          })
          .catch(() => undefined);
        return;
      }
      default:
    }
  }

  private remember(id: string, pending: Pending): void {
    if (this.pending.size >= PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(id, pending);
  }
}

function histogram(map: Map<string, Histogram>, type: string): Histogram {
  let h = map.get(type);
  if (h === undefined) {
    h = new Histogram();
    map.set(type, h);
  }
  return h;
}
