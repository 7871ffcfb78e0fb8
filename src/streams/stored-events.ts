/**
 * The state owner's events on their way out: on this host's bus in the order they happened,
 * an end (completed, failed, cancelled) told only once it is stored; and, on a shared queue,
 * to the other hosts at once, in the write batch that stores what they tell of (the store
 * sends them when it commits).
 *
 * On the bus, an end waits for the commit of the batch that holds its row's change, and every
 * event after it waits behind it, so a listener never sees a child start before its parent's
 * completion, nor a task's end before that end would survive a crash. Nothing waits while
 * no end is waiting: the common case is a direct call.
 */
import type { TaskEvent } from '../types.js';
import type { EventBus } from './event-bus.js';

/** What it needs of the writer: a call once what was written so far is committed (or given up). */
export interface CommitNotices {
  afterCommit(callback: (failure?: unknown) => void): void;
}

/** An event held in order, or (no event) what runs once everything before it is told. */
type Waiting = { event: TaskEvent | undefined; then?: () => void; state: 'waiting' | 'stored' | 'lost' };

export class StoredEvents {
  readonly #bus: EventBus;
  readonly #writer: CommitNotices;
  /** Events held behind an end not yet stored; `#head` is the first still held (no shift per event). */
  #held: Waiting[] = [];
  #head = 0;
  /** Where events go to the other hosts of a shared queue (see share). */
  #publish: ((event: TaskEvent) => void) | undefined;

  constructor(bus: EventBus, writer: CommitNotices) {
    this.#bus = bus;
    this.#writer = writer;
  }

  /** Whether anyone hears events: callers skip building events nobody will see. */
  get observed(): boolean {
    return this.#publish !== undefined || this.#bus.observed;
  }

  /** Every event also goes to `publish` as it happens (a shared queue's other hosts); returns how to stop. */
  share(publish: (event: TaskEvent) => void): () => void {
    this.#publish = publish;
    return () => {
      if (this.#publish === publish) this.#publish = undefined;
    };
  }

  /**
   * An event that promises nothing of the store: told now, unless an end is waiting. Also
   * the end of a task that is not stored (it has no commit to wait for). `shared` false
   * keeps it on this host: a task that is not stored is unknown to the other hosts.
   */
  emit(event: TaskEvent, shared = true): void {
    if (shared) this.#publish?.(event);
    if (this.#head === this.#held.length) this.#bus.emit(event);
    else this.#held.push({ event, state: 'stored' });
  }

  /**
   * Runs `then` once every event before now is told: at once unless an end is waiting. A
   * task that is not stored settles its result() this way, after its own end event and any
   * stored end told before it.
   */
  /** Whether events wait behind an end not yet stored (afterTold would not run its callback at once). */
  get holding(): boolean {
    return this.#head < this.#held.length;
  }

  afterTold(then: () => void): void {
    if (this.#head === this.#held.length) then();
    else this.#held.push({ event: undefined, then, state: 'stored' });
  }

  /**
   * A task's end: told once the batch holding it is committed. An end whose write was given
   * up (the store failed and the runtime is closing) is never told: it did not happen as
   * far as the store knows, and the task runs again when the file is next opened.
   */
  emitEnd(event: TaskEvent): void {
    this.#publish?.(event);
    const waiting: Waiting = { event, state: 'waiting' };
    this.#held.push(waiting);
    this.#writer.afterCommit((failure) => {
      waiting.state = failure === undefined ? 'stored' : 'lost';
      this.#release();
    });
  }

  #release(): void {
    const held = this.#held;
    while (this.#head < held.length) {
      const next = held[this.#head]!;
      if (next.state === 'waiting') return;
      this.#head++;
      if (next.state !== 'stored') continue;
      if (next.event !== undefined) this.#bus.emit(next.event);
      else next.then!();
    }
    this.#held = [];
    this.#head = 0;
  }
}
