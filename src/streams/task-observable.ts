/**
 * `observe(id)`: snapshots of one task, the current one first, then one after each of its
 * events, completing after the snapshot that shows it finished.
 */
import { Observable } from 'rxjs';
import { TaskNotFoundError } from '../errors.js';
import type { Task, TaskEvent } from '../types.js';
import type { EventBus } from './event-bus.js';

export interface SnapshotSource {
  /** The in-memory state of an unfinished task, synchronously. */
  liveSnapshot(id: string): Task | undefined;
  /** A finished (or unknown) task, read from the store once pending writes are in. */
  storedSnapshot(id: string): Promise<Task | undefined>;
}

const FINAL: ReadonlySet<TaskEvent['type']> = new Set(['completed', 'failed', 'cancelled']);

export function observeTask(id: string, bus: EventBus, source: SnapshotSource): Observable<Task> {
  return new Observable<Task>((subscriber) => {
    const emitStored = (): void => {
      source.storedSnapshot(id).then(
        (task) => {
          if (task === undefined) subscriber.error(new TaskNotFoundError(id));
          else {
            subscriber.next(task);
            subscriber.complete();
          }
        },
        (error: unknown) => {
          // The runtime closed while the last snapshot was being read: streams complete at close.
          if ((error as { code?: unknown })?.code === 'ERR_RUNTIME_CLOSED') subscriber.complete();
          else subscriber.error(error);
        },
      );
    };
    // Listen before reading, so nothing that happens in between is missed.
    const subscription = bus.forTask(id).subscribe({
      next(event) {
        if (FINAL.has(event.type)) return emitStored();
        const task = source.liveSnapshot(id);
        if (task !== undefined) subscriber.next(task);
      },
      complete: () => subscriber.complete(),
    });
    const task = source.liveSnapshot(id);
    if (task !== undefined) subscriber.next(task);
    else emitStored();
    return () => subscription.unsubscribe();
  });
}
