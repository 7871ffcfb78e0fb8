/**
 * `output$` of a task this host does not hold, on a shared queue: the reader's side (the
 * host that runs the task forwards, ./output-forwarders.ts; the wire is ./output-wire.ts).
 *
 * A subscription is a stream: announced to every host, so whichever holds the task, or
 * takes it later, forwards its values here. Each value is handed to the subscriber as it
 * comes, in order; what was handed on is counted back to its forwarder once the turn's
 * pieces are handed (one message per batch, not per value), and that is the room its
 * handler waits for at `ctx.emit`.
 *
 * The end: the task's end (`end`, as `result()` learns it) and its holder's end marker,
 * sent after the last value, come by different paths, in either order; the subscription
 * completes (or errors with the task's failure) once it has both. The marker is not
 * awaited when no host can send it: the task was cancelled before any forwarder was heard
 * from (it never ran with a reader), or cancelled once the host of the last forwarder heard
 * from was gone (it died, and the task was cancelled while it waited to run again). A task
 * that completed or failed was ended by a host that ran it: that host sends the marker,
 * asked again at the end in case it missed the interest. One gap is left: a host that dies
 * between committing a task's end and sending its marker leaves its readers waiting (until
 * their runtime closes).
 * Across a retry on another host, the values of each run come one run after the other.
 */
import { randomBytes } from 'node:crypto';
import { Observable, type Subscriber } from 'rxjs';
import { NotCloneableError, OutputLostError, RuntimeClosedError } from '../errors.js';
import type { OutputLink } from '../store/output-link.js';
import { FrameReader, noticeText, pieceText, type Piece } from './output-wire.js';

interface From {
  /** The forwarder's id, as its pieces name it. */
  id: string;
  /** The host it runs on: where room is counted back. */
  host: string;
  /** The next piece's number. */
  next: number;
  frames: FrameReader;
  /** Values handed on and not yet counted back. */
  handed: number;
}

interface Reading {
  id: string;
  subscriber: Subscriber<unknown>;
  forwarders: Map<string, From>;
  /** The host of the forwarder heard from last. */
  lastHost: string | undefined;
  marked: boolean;
  ending: { ok: true } | { ok: false; error: unknown } | undefined;
  done: boolean;
}

/** Forwarders of readings that are over kept to be told to stop; the oldest go first. */
const STALE_KEPT = 1000;

export interface RemoteOutputsOptions {
  queue: string;
  link: OutputLink;
}

export class RemoteOutputs {
  readonly #options: RemoteOutputsOptions;
  readonly #readings = new Map<string, Reading>();
  /** Forwarders with room to count back at the end of this turn. */
  readonly #owed = new Set<From>();
  #counting: NodeJS.Immediate | undefined;
  /** Forwarders of readings that are over, and their hosts (see #stopStale). */
  readonly #stale = new Map<string, string>();

  constructor(options: RemoteOutputsOptions) {
    this.#options = options;
  }

  /** The task's values, wherever it runs, completing after the last once `end` resolves, erroring when it rejects. */
  read(id: string, end: Promise<unknown>): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      const { link, queue } = this.#options;
      const stream = randomBytes(8).toString('hex');
      const reading: Reading = { id, subscriber, forwarders: new Map(), lastHost: undefined, marked: false, ending: undefined, done: false };
      this.#readings.set(stream, reading);
      link.announce(noticeText(queue, { kind: 'read', id, reader: link.host, stream })).catch((error: unknown) => this.#finish(reading, { ok: false, error }));
      end.then(
        () => this.#ended(reading, stream, { ok: true }),
        (error: unknown) => this.#ended(reading, stream, { ok: false, error }),
      );
      return () => {
        reading.done = true;
        this.#forgetReading(reading);
        this.#readings.delete(stream);
        // Every host forgets it; its forwarder stops, and the handler waits for it no longer.
        link.announce(noticeText(queue, { kind: 'unread', id, reader: link.host, stream })).catch(() => undefined);
      };
    });
  }

  /** A piece for a reader here (its forwarders' room is ./output-forwarders.ts's). */
  piece(piece: Piece): void {
    if (piece.kind === 'a' || piece.kind === 's') return;
    const reading = this.#readings.get(piece.stream);
    if (reading === undefined || reading.done) return this.#stopStale(piece);
    let from = reading.forwarders.get(piece.forwarder);
    if (piece.kind === 'h') {
      if (from !== undefined || piece.seq !== 0) return this.#lost(reading);
      reading.forwarders.set(piece.forwarder, { id: piece.forwarder, host: piece.host, next: 1, frames: new FrameReader(), handed: 0 });
      reading.lastHost = piece.host;
      return;
    }
    if (from === undefined || piece.seq !== from.next) return this.#lost(reading);
    from.next++;
    if (piece.kind === 'k') return; // still reading: its room comes as it goes
    if (piece.kind === 'x') return this.#finish(reading, { ok: false, error: new NotCloneableError('output value', piece.message) });
    if (piece.kind === 'e') {
      reading.marked = true;
      if (reading.ending !== undefined) this.#finish(reading, reading.ending);
      return;
    }
    let values: unknown[];
    try {
      values = from.frames.add(piece.bytes);
    } catch {
      return this.#lost(reading);
    }
    for (const value of values) {
      if (reading.done) return;
      reading.subscriber.next(value);
    }
    from.handed += values.length;
    this.#owe(from);
  }

  /** A reading is over: its forwarders' hosts are kept a while, to tell one that missed it to stop. */
  #forgetReading(reading: Reading): void {
    for (const from of reading.forwarders.values()) this.#stale.set(from.id, from.host);
    reading.forwarders.clear();
    while (this.#stale.size > STALE_KEPT) this.#stale.delete(this.#stale.keys().next().value!);
  }

  /** Host `host` began to listen and missed the interests told before: each reading here is told again. */
  hello(host: string): void {
    const { link, queue } = this.#options;
    if (host === link.host) return;
    for (const [stream, reading] of this.#readings) {
      if (!reading.done) link.announce(noticeText(queue, { kind: 'read', id: reading.id, reader: link.host, stream })).catch(() => undefined);
    }
  }

  /** The feed was cut: pieces may have been lost, so every reading errors (a new subscription starts afresh). */
  resync(): void {
    for (const reading of [...this.#readings.values()]) this.#lost(reading);
  }

  /** The runtime closes: every reading errors with ERR_RUNTIME_CLOSED (and tells the hosts it reads no more). */
  close(): void {
    const closed = new RuntimeClosedError('read output');
    for (const reading of [...this.#readings.values()]) this.#finish(reading, { ok: false, error: closed });
    clearImmediate(this.#counting);
    this.#owed.clear();
  }

  #owe(from: From): void {
    this.#owed.add(from);
    this.#counting ??= setImmediate(() => this.#countBack());
  }

  /** Room back to each forwarder, for what was handed on in the turns since the last count. */
  #countBack(): void {
    this.#counting = undefined;
    const { link } = this.#options;
    for (const from of this.#owed) {
      if (from.handed === 0) continue;
      const piece = pieceText({ kind: 'a', forwarder: from.id, count: from.handed });
      from.handed = 0;
      // Lost with the server: the forwarder's host errs the reader's way (see resync).
      link.send(from.host, [piece]).catch(() => undefined);
    }
    this.#owed.clear();
  }

  async #ended(reading: Reading, stream: string, ending: NonNullable<Reading['ending']>): Promise<void> {
    if (reading.done) return;
    reading.ending = ending;
    if (reading.marked || this.#noMarker(reading, ending)) return this.#finish(reading, ending);
    // Asked again: a host that finished the task and missed the interest (it began to
    // listen later) answers with what waits there and the marker. A host whose forwarder
    // is still sending ignores it: its own marker follows its last value.
    const { link, queue } = this.#options;
    link.announce(noticeText(queue, { kind: 'read', id: reading.id, reader: link.host, stream })).catch(() => undefined);
    if (!this.#cancelled(ending) || reading.lastHost === undefined) return;
    // Cancelled after a forwarder was heard from: by its host (which sends the marker), or,
    // that host gone, while the task waited to run again (no host sends one).
    let present = true;
    try {
      present = await link.present(reading.lastHost);
    } catch {
      // The server is away: the marker may still come once it is back.
    }
    if (!present) this.#finish(reading, ending);
  }

  /**
   * No marker comes for a task cancelled before any forwarder was heard from (it never ran
   * with a reader); nor when what ended is not the task (an unknown id, this runtime
   * closing). A task that completed or failed was ended by the host that ran it, which
   * sends one.
   */
  #noMarker(reading: Reading, ending: NonNullable<Reading['ending']>): boolean {
    if (ending.ok) return false;
    const code = (ending.error as { code?: unknown }).code;
    if (code !== 'ERR_TASK_CANCELLED' && code !== 'ERR_TASK_FAILED') return true;
    return code === 'ERR_TASK_CANCELLED' && reading.lastHost === undefined;
  }

  #cancelled(ending: NonNullable<Reading['ending']>): boolean {
    return !ending.ok && (ending.error as { code?: unknown }).code === 'ERR_TASK_CANCELLED';
  }

  #lost(reading: Reading): void {
    this.#finish(reading, { ok: false, error: new OutputLostError(reading.id) });
  }

  /**
   * A piece for a reading that is over: its forwarder missed the `unread` (its host's feed
   * was cut meanwhile), and would hold its handler for a reader that is gone. It is told
   * to stop, once.
   */
  #stopStale(piece: Exclude<Piece, { kind: 'a' | 's' }>): void {
    if (piece.kind === 'e' || piece.kind === 'x') {
      this.#stale.delete(piece.forwarder);
      return; // it stops by itself
    }
    const host = piece.kind === 'h' || piece.kind === 'k' ? piece.host : this.#stale.get(piece.forwarder);
    if (host === undefined) return;
    this.#stale.delete(piece.forwarder);
    this.#options.link.send(host, [pieceText({ kind: 's', forwarder: piece.forwarder })]).catch(() => undefined);
  }

  #finish(reading: Reading, ending: NonNullable<Reading['ending']>): void {
    if (reading.done) return;
    reading.done = true;
    this.#forgetReading(reading);
    if (ending.ok) reading.subscriber.complete();
    else reading.subscriber.error(ending.error);
  }
}
