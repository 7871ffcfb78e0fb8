/**
 * `handle.output$` and `rt.output$(id)`, host side: the values handlers emit (`ctx.emit`),
 * handed to each task's readers in order, every one (no coalescing), ending with the task.
 *
 * Back-pressure: a value counts as consumed once it has been handed to the readers (their
 * `next` returned). Values that arrive while a task has no reader wait here, and its worker
 * lets at most OUTPUT_WINDOW of them wait before `ctx.emit` waits too: memory stays bounded,
 * and a first reader that subscribes late (a short task can start before `submit()` has
 * resolved) still gets every value from the first. What waits goes to the first reader
 * only; later readers see the values from their subscription on. Nothing is stored.
 */
import { Observable, type Subscriber } from 'rxjs';

interface Channel {
  readers: Set<Subscriber<unknown>>;
  waiting: unknown[];
  ended: boolean;
}

/** Ended tasks whose values wait for a reader that may never come are kept up to this many; the oldest go first. */
const LEFTOVERS = 1000;

export class TaskOutputs {
  readonly #channels = new Map<string, Channel>();
  readonly #leftovers = new Set<string>();

  /** `consumed(id, n)`: n more of the task's values were handed on (room for as many in its worker). */
  constructor(private readonly consumed: (id: string, count: number) => void) {}

  push(id: string, value: unknown): void {
    const channel = this.#channel(id);
    if (channel.readers.size === 0) {
      channel.waiting.push(value);
      return;
    }
    for (const reader of channel.readers) reader.next(value);
    this.consumed(id, 1);
  }

  /** The task's values from now on, completing when `end` resolves and erroring when it rejects. */
  read(id: string, end: Promise<unknown>): Observable<unknown> {
    return new Observable<unknown>((reader) => {
      const channel = this.#channel(id);
      this.#leftovers.delete(id);
      const waiting = channel.waiting;
      if (waiting.length > 0) {
        channel.waiting = [];
        for (const value of waiting) reader.next(value);
        this.consumed(id, waiting.length);
      }
      channel.readers.add(reader);
      // Every value of a run reaches the host before its outcome, so once the end is
      // known (stored) nothing more comes.
      end.then(
        () => {
          channel.ended = true;
          reader.complete();
        },
        (error: unknown) => {
          channel.ended = true;
          reader.error(error);
        },
      );
      return () => {
        channel.readers.delete(reader);
        this.#release(id, channel);
      };
    });
  }

  /** The task ended here: its channel goes once nobody reads it and nothing waits in it. */
  ended(id: string): void {
    const channel = this.#channels.get(id);
    if (channel === undefined) return;
    channel.ended = true;
    this.#release(id, channel);
  }

  #release(id: string, channel: Channel): void {
    if (!channel.ended || channel.readers.size > 0) return;
    if (channel.waiting.length === 0) {
      this.#channels.delete(id);
      return;
    }
    this.#leftovers.add(id);
    if (this.#leftovers.size <= LEFTOVERS) return;
    const oldest = this.#leftovers.values().next().value as string;
    this.#leftovers.delete(oldest);
    this.#channels.delete(oldest);
  }

  #channel(id: string): Channel {
    let channel = this.#channels.get(id);
    if (channel === undefined) this.#channels.set(id, (channel = { readers: new Set(), waiting: [], ended: false }));
    return channel;
  }
}
