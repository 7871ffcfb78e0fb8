/**
 * The host that runs a task, for readers of its `output$` on other hosts of a shared queue
 * (./remote-outputs.ts; the wire is ./output-wire.ts). Every host hears each reader's
 * interest and keeps it while the reader wants it; the host that holds the task (or takes
 * it later, or ran it and still keeps values nobody read) attaches a forwarder: a paced
 * reader of the task's outputs here (./task-outputs.ts), so what waits goes to the first
 * reader as on one host, and a value counts as consumed only once the reader's host says
 * it handed it on. The handler therefore waits at `ctx.emit` for the remote reader, as it
 * waits for a local one, with no message per value: the room comes back in counts.
 *
 * A forwarder sends what it has whenever no send of it is under way, all of it in one
 * statement: values emitted while a send travels go together in the next. When the task
 * ends here, it sends the end marker after its last value; a host that finished the task
 * answers a later interest with the marker at once (the reader waits for it: see there).
 */
import { randomBytes } from 'node:crypto';
import type { OutputLink } from '../store/output-link.js';
import { cut, frame, pieceOf, pieceText, type Notice, type Piece } from './output-wire.js';
import type { PacedReading, TaskOutputs } from './task-outputs.js';
import { OUTPUT_WINDOW } from '../workers/control.js';

/** Interests kept for tasks not held here (their reader may have died without saying so); the oldest go first. */
const INTERESTS_KEPT = 10_000;
/** Tasks finished here that a late interest is answered for; the oldest go first. */
const FINISHED_KEPT = 10_000;

export interface OutputForwardersOptions {
  link: OutputLink;
  outputs: TaskOutputs;
  /** Whether this host holds the task now. */
  holds(id: string): boolean;
}

class Forwarder {
  readonly id = randomBytes(6).toString('hex');
  #seq = 0;
  /** Pieces and value bytes not sent yet, in order. */
  #texts: string[] = [];
  #bytes: Buffer[] = [];
  #ending = false;
  /** Why a value could not be sent: the last thing sent, then nothing more. */
  #refused: string | undefined;
  #sending = false;
  #stopped = false;
  /** Values handed here, and of those, how many the reader has handed on. */
  #handed = 0;
  #used = 0;
  /** Whether the reader's host was asked after since the window last filled. */
  #asked = false;
  reading: PacedReading | undefined;

  constructor(
    readonly stream: string,
    readonly reader: string,
    private readonly link: OutputLink,
    private readonly gone: (forwarder: Forwarder) => void,
  ) {
    this.#texts.push(pieceText({ kind: 'h', stream, forwarder: this.id, seq: this.#seq++, host: link.host }));
  }

  next(value: unknown): void {
    if (this.#stopped || this.#refused !== undefined) return;
    try {
      this.#bytes.push(frame(value));
    } catch (error) {
      // Cloned from a worker, yet v8 would not serialize it (a SharedArrayBuffer): the
      // reader learns why, after the values before it, and this forwarder stops.
      this.#refused = error instanceof Error ? error.message : String(error);
    }
    this.#flushSoon();
    if (++this.#handed - this.#used >= OUTPUT_WINDOW && !this.#asked) this.askAfterReader();
  }

  /** Whether the handler waits for this reader now (the window is full). */
  get stalled(): boolean {
    return !this.#stopped && this.#handed - this.#used >= OUTPUT_WINDOW;
  }

  /** The reader's host handed on `count` more values: as much room for the handler. */
  used(count: number): void {
    this.#used += count;
    this.#asked = false;
    this.reading?.used(count);
  }

  /**
   * The handler waits for this reader now. A reader whose host died never says it is gone,
   * so its host is looked for when the window fills, and again with each renewal of the
   * leases while it stays full (OutputForwarders.recheck): gone, the handler waits for it
   * no more.
   */
  askAfterReader(): void {
    this.#asked = true;
    this.link.present(this.reader).then(
      (present) => {
        if (!present) this.stop();
      },
      () => undefined,
    );
  }

  /** This host's feed was cut: the reader's `unread` may have been missed, so its host is asked whether it still reads. */
  ask(): void {
    if (this.#stopped) return;
    this.#texts.push(pieceText({ kind: 'k', stream: this.stream, forwarder: this.id, seq: this.#seq++, host: this.link.host }));
    this.#flushSoon();
  }

  /** The task ended here: the end marker goes after the last value. */
  end(): void {
    if (this.#stopped) return;
    this.#ending = true;
    this.#flushSoon();
  }

  /** The reader no longer reads (or its values cannot reach it): nothing more is sent, and the handler waits for it no longer. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#texts = [];
    this.#bytes = [];
    this.reading?.stop();
    this.gone(this);
  }

  #flushSoon(): void {
    // A microtask later: values emitted in one turn go in one send.
    if (!this.#sending) {
      this.#sending = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    if (this.#stopped) return;
    const texts = this.#texts;
    if (this.#bytes.length > 0) {
      for (const bytes of cut(Buffer.concat(this.#bytes))) texts.push(pieceText({ kind: 'v', stream: this.stream, forwarder: this.id, seq: this.#seq++, bytes }));
    }
    const refused = this.#refused;
    const last = this.#ending || refused !== undefined;
    if (refused !== undefined) texts.push(pieceText({ kind: 'x', stream: this.stream, forwarder: this.id, seq: this.#seq++, message: refused }));
    else if (last) texts.push(pieceText({ kind: 'e', stream: this.stream, forwarder: this.id, seq: this.#seq++ }));
    this.#texts = [];
    this.#bytes = [];
    if (texts.length === 0) {
      this.#sending = false;
      return;
    }
    this.link.send(this.reader, texts).then(
      () => {
        if (last) return this.stop();
        this.#sending = false;
        if (this.#texts.length > 0 || this.#bytes.length > 0 || this.#ending) this.#flushSoon();
      },
      // The server is away: the reader's host sees the gap (or its feed's resync) and errors.
      () => this.stop(),
    );
  }
}

export class OutputForwarders {
  readonly #options: OutputForwardersOptions;
  /** Interests heard, by task: stream -> reader host. */
  readonly #interests = new Map<string, Map<string, string>>();
  readonly #byStream = new Map<string, Forwarder>();
  readonly #byId = new Map<string, Forwarder>();
  readonly #finished = new Set<string>();

  constructor(options: OutputForwardersOptions) {
    this.#options = options;
    options.outputs.watch = {
      opened: (id) => this.#opened(id),
      ended: (id) => this.#ended(id),
    };
  }

  /** A reader's interest, or its end, as every host hears it. */
  notice(notice: Notice & { kind: 'read' | 'unread' }): void {
    if (notice.kind === 'unread') {
      this.#forget(notice);
      return;
    }
    if (this.#byStream.has(notice.stream)) return; // heard again (the reader asked anew): attached already
    const { outputs, holds } = this.#options;
    if (holds(notice.id)) {
      this.#remember(notice);
      this.#attach(notice.id, notice.stream, notice.reader, true);
    } else if (this.#finished.has(notice.id)) {
      // Finished here: what nobody read yet (if anything) goes to this reader, then the end.
      this.#attach(notice.id, notice.stream, notice.reader, outputs.has(notice.id)).end();
    } else {
      this.#remember(notice);
      // Held here before and handed back (to run again, here or elsewhere): values that wait here go to the reader.
      if (outputs.has(notice.id)) this.#attach(notice.id, notice.stream, notice.reader, true);
    }
  }

  /** A piece for this host (its own channel): room for one of its forwarders, or a stop; else it is for a reader here. */
  piece(payload: string): Piece | undefined {
    const piece = pieceOf(payload);
    if (piece?.kind === 'a') this.#byId.get(piece.forwarder)?.used(piece.count);
    else if (piece?.kind === 's') this.#byId.get(piece.forwarder)?.stop();
    else return piece;
    return undefined;
  }

  /** The leases were renewed: the hosts of the readers whose handlers wait for them are looked for again. */
  recheck(): void {
    for (const forwarder of this.#byId.values()) if (forwarder.stalled) forwarder.askAfterReader();
  }

  /** This host's feed was cut and is back: notices were missed, and every reader is asked whether it still reads. */
  resync(): void {
    for (const forwarder of this.#byId.values()) forwarder.ask();
  }

  close(): void {
    for (const forwarder of [...this.#byId.values()]) forwarder.stop();
    this.#interests.clear();
    this.#options.outputs.watch = undefined;
  }

  #remember(notice: Notice & { kind: 'read' | 'unread' }): void {
    let streams = this.#interests.get(notice.id);
    if (streams === undefined) {
      this.#interests.set(notice.id, (streams = new Map()));
      if (this.#interests.size > INTERESTS_KEPT) this.#interests.delete(this.#interests.keys().next().value!);
    }
    streams.set(notice.stream, notice.reader);
  }

  #forget(notice: Notice & { kind: 'read' | 'unread' }): void {
    const streams = this.#interests.get(notice.id);
    streams?.delete(notice.stream);
    if (streams?.size === 0) this.#interests.delete(notice.id);
    this.#byStream.get(notice.stream)?.stop();
  }

  /** A forwarder to `reader`; `read`: it reads the task's outputs here (else it only tells the end). */
  #attach(id: string, stream: string, reader: string, read: boolean): Forwarder {
    const forwarder = new Forwarder(stream, reader, this.#options.link, (gone) => {
      this.#byStream.delete(gone.stream);
      this.#byId.delete(gone.id);
    });
    this.#byStream.set(stream, forwarder);
    this.#byId.set(forwarder.id, forwarder);
    if (read) forwarder.reading = this.#options.outputs.forward(id, forwarder);
    return forwarder;
  }

  /** The task's first value here: readers that asked before attach now, and get it. */
  #opened(id: string): void {
    const streams = this.#interests.get(id);
    if (streams === undefined) return;
    for (const [stream, reader] of streams) if (!this.#byStream.has(stream)) this.#attach(id, stream, reader, true);
  }

  /** The task finished here: every reader of it learns the end, after the last value. */
  #ended(id: string): void {
    const streams = this.#interests.get(id);
    this.#interests.delete(id);
    for (const [stream, reader] of streams ?? []) (this.#byStream.get(stream) ?? this.#attach(id, stream, reader, false)).end();
    this.#finished.add(id);
    if (this.#finished.size > FINISHED_KEPT) this.#finished.delete(this.#finished.values().next().value!);
  }
}
