/**
 * The mode of the files a store creates. Payloads and results may hold secrets, so by
 * default only the owner of the process may read them.
 */
import { closeSync, fchmodSync, openSync } from 'node:fs';

export const DEFAULT_FILE_MODE = 0o600;

/**
 * Creates `path` with `mode` (exactly: not narrowed by the umask) if it is not there yet;
 * one that is there is left as it is. Only ever for a file that did not exist: opening and
 * closing a descriptor of a file this process holds a POSIX lock on would drop that lock.
 */
export function createWithMode(path: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
