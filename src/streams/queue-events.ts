/**
 * The events of a queue that several hosts share: this host's events go to the others
 * (with the write batch that stores what they tell of: the store sends them once it is
 * committed), and the others' events are told on this host's bus, so `events$`,
 * `observe(id)`, `watch()` and a handle's streams show tasks wherever they run.
 */
import type { TaskEvent } from '../types.js';
import type { EventBus } from './event-bus.js';
import type { StoredEvents } from './stored-events.js';

export class QueueEvents {
  readonly #bus: EventBus;
  readonly #unshare: () => void;

  /** This host's events (`own`) go out with the write batch (`writer.publish`) as they happen. */
  constructor(bus: EventBus, own: StoredEvents, writer: { publish(event: TaskEvent): void }) {
    this.#bus = bus;
    this.#unshare = own.share((event) => writer.publish(event));
  }

  /** What other hosts' tasks did, already stored: told on this host's bus (and never sent back out). */
  tell(events: readonly TaskEvent[]): void {
    for (const event of events) this.#bus.emit(event);
  }

  close(): void {
    this.#unshare();
  }
}
