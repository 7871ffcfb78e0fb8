/**
 * `watch(filter)`: the tasks a `list(filter)` returns, as a live stream for UIs.
 *
 * Emits the current list at once, then re-queries after task events. Any event may move a
 * task into or out of the filter (or change one in it), so every event marks the list
 * dirty; working out which events matter would need the filter logic of the store twice.
 * Re-queries are throttled instead:
 * - at most one query starts per `intervalMs`: the first after a quiet spell runs at once,
 *   the rest of a burst waits for one trailing query, so the last state is always emitted;
 * - never two queries in flight: events during a query mark the list dirty, and one more
 *   query runs after it (still no sooner than `intervalMs` after the previous start);
 * - one timer at most, armed only while a trailing query is due.
 * A result equal to the previous one (ids, status, progress, updatedAt) is not emitted.
 */
import { Observable } from 'rxjs';
import type { Task, TaskEvent, TaskFilter } from '../types.js';

export interface WatchSource {
  list(filter: TaskFilter): Promise<Task[]>;
  events$: Observable<TaskEvent>;
}

export function watchTasks(filter: TaskFilter, source: WatchSource, intervalMs: number): Observable<Task[]> {
  return new Observable<Task[]>((subscriber) => {
    let inFlight = false;
    let dirty = false;
    let lastStart = Number.NEGATIVE_INFINITY;
    let timer: NodeJS.Timeout | undefined;
    let previous: Task[] | undefined;

    const query = (): void => {
      dirty = false;
      inFlight = true;
      lastStart = performance.now();
      // The executor turns a synchronous throw of list() into a rejection too.
      new Promise<Task[]>((resolve) => resolve(source.list(filter))).then(
        (tasks) => {
          inFlight = false;
          if (subscriber.closed) return;
          if (previous === undefined || !sameList(previous, tasks)) {
            previous = tasks;
            subscriber.next(tasks);
          }
          if (dirty) schedule();
        },
        (error: unknown) => {
          inFlight = false;
          subscriber.error(error);
        },
      );
    };

    const schedule = (): void => {
      // A running query re-schedules when it ends; an armed timer already covers this event.
      if (inFlight || timer !== undefined || subscriber.closed) return;
      const wait = lastStart + intervalMs - performance.now();
      if (wait <= 0) return query();
      timer = setTimeout(() => {
        timer = undefined;
        if (!subscriber.closed) query();
      }, wait);
      // A trailing refresh alone should not keep the process alive.
      timer.unref();
    };

    // Listen before the first query, so no change between the two is missed.
    const subscription = source.events$.subscribe({
      next() {
        dirty = true;
        schedule();
      },
      // The runtime closed: its store may be gone, so no trailing query; just end.
      complete: () => subscriber.complete(),
      error: (error: unknown) => subscriber.error(error),
    });
    // An event delivered synchronously on subscribe may have started the first query already.
    if (!inFlight && !subscriber.closed) query();

    return () => {
      subscription.unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
  });
}

/** Cheap equality over what a task panel shows and what changes with every update. */
function sameList(a: readonly Task[], b: readonly Task[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return (
      y !== undefined &&
      x.id === y.id &&
      x.status === y.status &&
      x.progress === y.progress &&
      x.progressMessage === y.progressMessage &&
      x.updatedAt === y.updatedAt
    );
  });
}
