/**
 * The events of a queue that several hosts share: this host's events go to the others
 * (with the write batch that stores what they tell of: the store sends them once it is
 * committed), and the others' events are told on this host's bus, so `events$`,
 * `observe(id)`, `watch()` and a handle's streams show tasks wherever they run.
 */
import type { Subscription } from 'rxjs';
import type { TaskEvent } from '../types.js';
import type { EventBus } from './event-bus.js';

export class QueueEvents {
  readonly #bus: EventBus;
  /** Events that came from other hosts: told here, never sent back out. */
  readonly #remote = new WeakSet<TaskEvent>();
  readonly #subscription: Subscription;

  constructor(bus: EventBus, writer: { publish(event: TaskEvent): void }) {
    this.#bus = bus;
    this.#subscription = bus.events$.subscribe((event) => {
      if (!this.#remote.has(event)) writer.publish(event);
    });
  }

  /** What other hosts' tasks did, already stored: told on this host's bus. */
  tell(events: readonly TaskEvent[]): void {
    for (const event of events) {
      this.#remote.add(event);
      this.#bus.emit(event);
    }
  }

  /** Whether an event came from another host (it was stored before it was told). */
  isRemote(event: TaskEvent): boolean {
    return this.#remote.has(event);
  }

  close(): void {
    this.#subscription.unsubscribe();
  }
}
