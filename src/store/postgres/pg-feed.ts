/**
 * The LISTEN connection of one host: what the other hosts of its queue say on the
 * channels of ./pg-channels.ts, told to the feeds that listen (src/store/task-claims.ts,
 * QueueFeed), in the order it arrived.
 *
 * The connection is apart from the pool, opened by the first `add` and kept until `close`.
 * When it is lost (the server restarted, the network failed), it is opened again by itself,
 * after 100 ms, then twice as long each time it fails, up to 5 s; once it listens again, every
 * feed is told `resync()` (what was said meanwhile is lost) and `ready()`.
 */
import pg from 'pg';
import type { QueueFeed } from '../task-claims.js';
import { CHANNELS, CONTROL_CHANNEL, controlFor, EVENTS_CHANNEL, READY_CHANNEL } from './pg-channels.js';
import { PG_TYPES, type PgDb } from './pg-db.js';
import { storeError } from './pg-errors.js';
import { eventsFrom, omittedIds, readOmitted, toTaskEvents, type EventRow, type WireEvent } from './pg-events.js';
import { outputChannel } from './pg-outputs.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;
const NO_ROWS: ReadonlyMap<string, EventRow> = new Map();

export interface PgFeedOptions {
  connectionString: string;
  queue: string;
  /** This host: its own events are not told back to it, and commands addressed to it are. */
  hostId: string;
  /** Where the rows of events too large to send are read. */
  db: PgDb;
}

export class PgFeed {
  readonly #options: PgFeedOptions;
  /** One entry per `add`, so a feed added twice is told twice and removed once per unsubscribe. */
  readonly #feeds = new Set<{ feed: QueueFeed }>();
  /** The connection that listens, or undefined while there is none. */
  #client: pg.Client | undefined;
  /** The first connection, while it is being made. */
  #starting: Promise<void> | undefined;
  /** Listened once: a loss from now on is mended in the background. */
  #started = false;
  /** A connection being made again after a loss. */
  #reconnecting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = FIRST_DELAY_MS;
  #closed = false;
  /** What is being told, in order: the next notification waits for the previous one's rows. */
  #telling: Promise<void> = Promise.resolve();

  readonly #ownChannel: string;

  constructor(options: PgFeedOptions) {
    this.#options = options;
    this.#ownChannel = outputChannel(options.queue, options.hostId);
  }

  /**
   * Tells `feed` from now on; resolves, once the connection listens, to the unsubscribe. While
   * a lost connection is being made again, it resolves at once: the feed is told `resync()`
   * when it is back. The first connection failing rejects (StoreUnavailableError when the
   * server cannot be reached), and the next `add` tries again.
   */
  async add(feed: QueueFeed): Promise<() => void> {
    if (this.#closed) throw new Error('The PostgreSQL store is closed: it cannot listen.');
    const entry = { feed };
    this.#feeds.add(entry);
    if (!this.#started) {
      this.#starting ??= this.#connect().then(
        async (client) => {
          this.#starting = undefined;
          this.#started = true;
          await this.#adopt(client);
        },
        (error: unknown) => {
          this.#starting = undefined;
          throw error;
        },
      );
      try {
        await this.#starting;
      } catch (error) {
        this.#feeds.delete(entry);
        throw error;
      }
    }
    return () => {
      this.#feeds.delete(entry);
    };
  }

  /** Stops listening, and any connection being made again; waits for what is being told. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#feeds.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    await Promise.all([this.#starting?.catch(() => undefined), this.#reconnecting, client?.end().catch(() => undefined), this.#telling]);
  }

  /** A new connection, listening on every channel. */
  async #connect(): Promise<pg.Client> {
    const { connectionString, hostId, db } = this.#options;
    const client = new pg.Client({ connectionString, types: PG_TYPES, application_name: `offthread ${hostId}` });
    // Both may come, for one loss: the first is acted on, the second finds it done.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (client === this.#client) this.#notified(message);
    });
    try {
      await client.connect();
      // And this host's own channel: output$ values for its readers, room for its forwarders.
      await client.query([...CHANNELS, this.#ownChannel].map((channel) => `LISTEN ${channel}`).join('; '));
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw storeError(error, db.where);
    }
  }

  /** Listens through `client` from now on; false when the feed was closed meanwhile (and `client` is closed too). */
  async #adopt(client: pg.Client): Promise<boolean> {
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return false;
    }
    this.#client = client;
    this.#delayMs = FIRST_DELAY_MS;
    return true;
  }

  #lost(client: pg.Client): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    void client.end().catch(() => undefined);
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#reconnecting = this.#reconnect().finally(() => (this.#reconnecting = undefined));
    }, this.#delayMs);
    // The feeds keep the process alive by their own means; a retry alone does not.
    this.#timer.unref();
    this.#delayMs = Math.min(this.#delayMs * 2, MAX_DELAY_MS);
  }

  async #reconnect(): Promise<void> {
    let client: pg.Client;
    try {
      client = await this.#connect();
    } catch {
      this.#retryLater();
      return;
    }
    if (!(await this.#adopt(client))) return;
    this.#tell((feed) => {
      feed.resync();
      feed.ready();
    });
  }

  #notified({ channel, payload = '' }: pg.Notification): void {
    const { queue, hostId } = this.#options;
    if (channel === READY_CHANNEL) {
      if (payload === queue) this.#tell((feed) => feed.ready());
    } else if (channel === EVENTS_CHANNEL) {
      const events = eventsFrom(payload, queue, hostId);
      if (events !== undefined && events.length > 0) this.#tellEvents(events);
    } else if (channel === CONTROL_CHANNEL) {
      const command = controlFor(payload, queue, hostId);
      if (command !== undefined) this.#tell((feed) => feed.control(command.id, command.request));
      // Not a command: perhaps a reader's interest in a task's output$ values (every host hears it).
      else this.#tell((feed) => feed.outputNotice?.(payload));
    } else if (channel === this.#ownChannel) {
      this.#tell((feed) => feed.outputPiece?.(payload));
    }
  }

  /** Tells the events once the rows of their omitted fields are read; if they cannot be, `resync()` instead. */
  #tellEvents(wire: WireEvent[]): void {
    const ids = omittedIds(wire);
    const { db, queue } = this.#options;
    this.#telling = this.#telling.then(async () => {
      if (this.#closed) return;
      let rows = NO_ROWS;
      if (ids.length > 0) {
        try {
          rows = await readOmitted(db, queue, ids);
        } catch {
          this.#each((feed) => feed.resync());
          return;
        }
      }
      const events = toTaskEvents(wire, rows);
      if (events.length > 0) this.#each((feed) => feed.events(events));
    });
  }

  #tell(call: (feed: QueueFeed) => void): void {
    this.#telling = this.#telling.then(() => this.#each(call));
  }

  #each(call: (feed: QueueFeed) => void): void {
    if (this.#closed) return;
    for (const { feed } of [...this.#feeds]) {
      try {
        call(feed);
      } catch {
        // A feed that throws is its own fault; the others are still told.
      }
    }
  }
}
