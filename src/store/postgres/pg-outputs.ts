/**
 * `output$` values between the hosts of a queue, by NOTIFY (OutputLink, src/store/
 * output-link.ts): notices go on offthread_control, which every host hears; what is for one
 * host goes on that host's own channel (outputChannel), which only it LISTENs to, so a
 * value reaches only the host that reads it. No table is written.
 */
import { createHash } from 'node:crypto';
import type { OutputLink } from '../output-link.js';
import { CONTROL_CHANNEL } from './pg-channels.js';
import type { PgDb } from './pg-db.js';

/**
 * The channel only `host` of `queue` listens to: a digest, so any host id and queue name
 * make a valid identifier (63 bytes at most) that needs no quoting but the LISTEN's own.
 */
export function outputChannel(queue: string, host: string): string {
  return `offthread_o_${createHash('sha256').update(`${queue}\0${host}`).digest('hex').slice(0, 40)}`;
}

/**
 * A NOTIFY takes a transaction id, so its commit writes a commit record, which by default
 * waits for the disk: one fsync per send, for values that are not durable anyway. The
 * statement turns that off for its own transaction (is_local), in the same round trip.
 */
const NOT_SYNCED = "(SELECT set_config('synchronous_commit', 'off', true)) AS not_synced";

export class PgOutputLink implements OutputLink {
  /** Each reading host's channel, named by a digest made once. */
  readonly #channels = new Map<string, string>();

  constructor(
    private readonly db: PgDb,
    readonly queue: string,
    readonly host: string,
  ) {}

  async announce(notice: string): Promise<void> {
    await this.db.query(`SELECT pg_notify($1, $2) FROM ${NOT_SYNCED}`, [CONTROL_CHANNEL, notice]);
  }

  async send(host: string, pieces: readonly string[]): Promise<void> {
    if (pieces.length === 0) return;
    // One statement is one transaction: its NOTIFYs are delivered together, in the order
    // made (the array's: unnest yields it in order), after those of transactions that committed before it.
    await this.db.query(`SELECT pg_notify($1, piece) FROM ${NOT_SYNCED}, unnest($2::text[]) AS piece`, [this.#channelOf(host), pieces]);
  }

  #channelOf(host: string): string {
    let channel = this.#channels.get(host);
    if (channel === undefined) this.#channels.set(host, (channel = outputChannel(this.queue, host)));
    return channel;
  }

  async present(host: string): Promise<boolean> {
    // Its LISTEN connection and pool carry its id (pg-task-store.ts, pg-feed.ts).
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`offthread ${host}`]);
    return (rows[0]?.n ?? 0) > 0;
  }
}
