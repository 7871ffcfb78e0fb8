/**
 * Databases on the test run's PostgreSQL server (started by test/pg/global-setup.ts):
 * `freshDatabase()` makes a new empty one for the calling test and drops it after that test,
 * so tests never share state.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject, onTestFinished } from 'vitest';

/** postgres:// URL of the server's `postgres` database, as superuser. */
export function adminUrl(): string {
  return inject('pgAdminUrl');
}

/** Runs `work` on a new admin connection, closed afterwards. */
export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// Databases made outside a test (in beforeAll): dropped after the file.
const leftovers: string[] = [];
afterAll(async () => {
  for (const name of leftovers.splice(0)) await dropDatabase(name);
});

/**
 * Creates a new empty database and returns its postgres:// URL. Called in a test or a
 * beforeEach, it is dropped when the test finishes; in a beforeAll, after the file.
 */
export async function freshDatabase(): Promise<string> {
  const name = `t_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  try {
    onTestFinished(() => dropDatabase(name));
  } catch {
    leftovers.push(name);
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.href;
}

/**
 * Drops a test's database. DROP DATABASE waits a few seconds for connections that are closing;
 * one still open after that is a connection the test forgot to close: the database is
 * dropped anyway (FORCE) and the test fails for it.
 */
async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (client) => {
    const ident = client.escapeIdentifier(name);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${ident}`);
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') throw error;
      await client.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
      throw new Error(`the test left a connection to its database ${name} open`, { cause: error });
    }
  });
}
