/**
 * `observe(id)`: snapshots of one task, the current one first, then one after each of its
 * events, completing after the snapshot that shows it finished.
 */
import { Observable } from 'rxjs';
import { TaskNotFoundError } from '../errors.js';
import type { Task, TaskEvent } from '../types.js';
import type { EventBus } from './event-bus.js';

export interface SnapshotSource {
  /** The in-memory state of a task this host holds, synchronously. */
  liveSnapshot(id: string): Task | undefined;
  /**
   * A task this host does not hold, read from the store once pending writes are in: a
   * finished (or unknown) one, or on a shared queue one that another host holds or none does.
   */
  storedSnapshot(id: string): Promise<Task | undefined>;
  /** The last snapshot of a task that ended with no row to read (durable: false), from its end event. */
  endedSnapshot?(id: string, end: TaskEvent): Task | undefined;
}

const FINAL: ReadonlySet<TaskEvent['type']> = new Set(['completed', 'failed', 'cancelled']);
const ENDED: ReadonlySet<Task['status']> = new Set(['completed', 'failed', 'cancelled']);

export function observeTask(id: string, bus: EventBus, source: SnapshotSource): Observable<Task> {
  return new Observable<Task>((subscriber) => {
    // Reads of the store are answered in the order they were made: snapshots never go back in time.
    let reads: Promise<void> = Promise.resolve();
    const emitStored = (): void => {
      const read = source.storedSnapshot(id);
      read.catch(() => undefined); // handled below, in turn; not an unhandled rejection meanwhile
      reads = reads.then(() => read).then(
        (task) => {
          if (subscriber.closed) return;
          if (task === undefined) subscriber.error(new TaskNotFoundError(id));
          else {
            subscriber.next(task);
            // Unfinished: another host holds it (a shared queue), and its events follow.
            if (ENDED.has(task.status)) subscriber.complete();
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
        if (FINAL.has(event.type)) {
          const ended = source.endedSnapshot?.(id, event);
          if (ended === undefined) return emitStored();
          subscriber.next(ended);
          return subscriber.complete();
        }
        const task = source.liveSnapshot(id);
        if (task !== undefined) subscriber.next(task);
        else emitStored(); // held elsewhere: its row tells what the event did
      },
      complete: () => subscriber.complete(),
    });
    const task = source.liveSnapshot(id);
    if (task !== undefined) subscriber.next(task);
    else emitStored();
    return () => subscription.unsubscribe();
  });
}
