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
 *
 * A paced reader (`forward`: the forwarder of a reader on another host of a shared queue)
 * says itself when it has used what it was handed (`used`): a value counts as consumed only
 * once every paced reader has used it, so the handler waits at `ctx.emit` for the slowest
 * reader, wherever it is.
 */
import { Observable, type Subscriber } from 'rxjs';

/** A reader that says when it has used the values it was handed. */
export interface PacedReader {
  next(value: unknown): void;
}

/** How a paced reader goes on: `used(n)`, n more of its values were used; `stop()`, it reads no more. */
export interface PacedReading {
  used(count: number): void;
  stop(): void;
}

interface Paced {
  reader: PacedReader;
  /** How many of the channel's values had been handed on when it began. */
  start: number;
  /** How many of the values it was handed it has used. */
  used: number;
}

interface Channel {
  readers: Set<Subscriber<unknown>>;
  paced: Set<Paced>;
  waiting: unknown[];
  ended: boolean;
  /** Values handed to readers so far. */
  handed: number;
  /** Values reported consumed so far (to the worker). */
  reported: number;
}

/** What a task's outputs tell the forwarders: a first value came, and the task ended here. */
export interface OutputWatch {
  /** The task's first value since its channel was made: a reader elsewhere may be waiting. */
  opened(id: string): void;
  /** The task finished on this host (with or without values). */
  ended(id: string): void;
}

/** Ended tasks whose values wait for a reader that may never come are kept up to this many; the oldest go first. */
const LEFTOVERS = 1000;

export class TaskOutputs {
  readonly #channels = new Map<string, Channel>();
  readonly #leftovers = new Set<string>();
  /** Set on a shared queue (src/streams/output-forwarders.ts). */
  watch: OutputWatch | undefined;

  /** `consumed(id, n)`: n more of the task's values were handed on (room for as many in its worker). */
  constructor(private readonly consumed: (id: string, count: number) => void) {}

  push(id: string, value: unknown): void {
    let channel = this.#channels.get(id);
    if (channel === undefined) {
      channel = this.#channel(id);
      // A forwarder may attach here, before the value is handed.
      this.watch?.opened(id);
    }
    if (channel.readers.size === 0 && channel.paced.size === 0) {
      channel.waiting.push(value);
      return;
    }
    for (const reader of channel.readers) reader.next(value);
    for (const paced of channel.paced) paced.reader.next(value);
    channel.handed++;
    this.#report(id, channel);
  }

  /** Whether this host has values of the task, or readers of them (it runs it, or ran it and values wait). */
  has(id: string): boolean {
    return this.#channels.has(id);
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
        channel.handed += waiting.length;
        this.#report(id, channel);
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

  /** A paced reader of the task's values from now on (what waits goes to it first); it ends when it stops. */
  forward(id: string, reader: PacedReader): PacedReading {
    const channel = this.#channel(id);
    this.#leftovers.delete(id);
    const paced: Paced = { reader, start: channel.handed, used: 0 };
    channel.paced.add(paced);
    const waiting = channel.waiting;
    if (waiting.length > 0) {
      channel.waiting = [];
      for (const value of waiting) reader.next(value);
      channel.handed += waiting.length;
    }
    return {
      used: (count) => {
        if (!channel.paced.has(paced)) return;
        paced.used = Math.min(paced.used + count, channel.handed - paced.start);
        this.#report(id, channel);
      },
      stop: () => {
        if (!channel.paced.delete(paced)) return;
        this.#report(id, channel);
        this.#release(id, channel);
      },
    };
  }

  /** The task ended here: its channel goes once nobody reads it and nothing waits in it. */
  ended(id: string): void {
    this.watch?.ended(id);
    const channel = this.#channels.get(id);
    if (channel === undefined) return;
    channel.ended = true;
    this.#release(id, channel);
  }

  /** Tells the worker of the values every reader has used since the last report. */
  #report(id: string, channel: Channel): void {
    let used = channel.handed;
    for (const paced of channel.paced) used = Math.min(used, paced.start + paced.used);
    if (used <= channel.reported) return;
    const count = used - channel.reported;
    channel.reported = used;
    this.consumed(id, count);
  }

  #release(id: string, channel: Channel): void {
    if (!channel.ended || channel.readers.size > 0 || channel.paced.size > 0) return;
    if (this.#channels.get(id) !== channel) return;
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
    if (channel === undefined) this.#channels.set(id, (channel = { readers: new Set(), paced: new Set(), waiting: [], ended: false, handed: 0, reported: 0 }));
    return channel;
  }
}
