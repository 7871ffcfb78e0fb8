import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { chmodSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { StoreLockedError, StoreUnavailableError, type StoreOwner } from '../errors.js';
import { createWithMode } from './file-mode.js';

/*
 * One runtime owns a database file at a time. The owner holds an exclusive lock on a sidecar
 * `<file>.lock`, taken through a second SQLite connection in locking_mode EXCLUSIVE: SQLite's
 * unix VFS turns that into a POSIX fcntl lock, which the kernel drops when the process dies
 * (SIGKILL included), so the next opener takes over at once, with no timeout or stale-pid
 * guessing. SQLite also tracks its locks per inode inside a process, so a second connection
 * in the same process (another runtime, another worker thread) is refused as well.
 *
 * Why not lock the database file itself: every WAL reader needs a SHARED lock on it, so an
 * exclusive lock there would also shut out read-only inspection, which must always work.
 *
 * Why `<file>.lock` is never deleted: unlinking a lock file that another opener may already
 * have open lets that opener lock the orphaned inode while a third creates a new one, and
 * then two runtimes both "own" the database. A leftover .lock file (one empty 4 KiB page),
 * like SQLite's own -shm, is harmless.
 *
 * Never read or write `<file>.lock` with node:fs in this process: closing any descriptor of a
 * file drops every POSIX lock the process holds on it.
 */

export class OwnerLock {
  readonly #db: Database.Database;
  readonly #ownerFile: string;

  private constructor(db: Database.Database, ownerFile: string) {
    this.#db = db;
    this.#ownerFile = ownerFile;
  }

  /**
   * Takes the lock for `resolved` (the database's real path: two paths to one database must
   * map to one lock file) or throws StoreLockedError (someone holds it) or
   * StoreUnavailableError (the lock file cannot be created). `shown` is the path as the user
   * gave it, for messages. Never waits.
   */
  static acquire(resolved: string, shown: string, fileMode: number): OwnerLock {
    const lockFile = `${resolved}.lock`;
    const ownerFile = `${resolved}.owner`;
    let db: Database.Database;
    try {
      // With its mode, if it is new (a lock file that exists may be held: never opened with node:fs).
      createWithMode(lockFile, fileMode);
      db = new Database(lockFile, { timeout: 0 });
    } catch (error) {
      throw new StoreUnavailableError(shown, lockFileError(lockFile, error));
    }
    try {
      // EXCLUSIVE locking mode keeps every lock taken until the connection closes; MEMORY
      // keeps the (one, empty) transaction from leaving a -journal file next to the lock.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = MEMORY');
      // A write transaction takes the EXCLUSIVE lock straight away; after COMMIT the
      // connection keeps it. busy timeout 0: a held lock fails here at once with SQLITE_BUSY.
      db.exec('BEGIN EXCLUSIVE');
      db.exec('COMMIT');
    } catch (error) {
      db.close();
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new StoreLockedError(shown, readOwner(ownerFile));
      }
      throw new StoreUnavailableError(shown, lockFileError(lockFile, error));
    }
    writeOwner(ownerFile, fileMode);
    return new OwnerLock(db, ownerFile);
  }

  /** Removes the owner note first, so it never names a process that no longer holds the lock. */
  release(): void {
    if (!this.#db.open) return;
    try {
      unlinkSync(this.#ownerFile);
    } catch {
      // Already gone (removed by hand): nothing to undo.
    }
    this.#db.close();
  }
}

/** Who holds a database, as its `<file>.owner` note says; undefined when absent or unreadable. */
export function readOwner(ownerFile: string): StoreOwner | undefined {
  try {
    const note = JSON.parse(readFileSync(ownerFile, 'utf8')) as Partial<StoreOwner>;
    if (typeof note.pid !== 'number') return undefined;
    return { pid: note.pid, hostname: String(note.hostname), since: String(note.since) };
  } catch {
    return undefined;
  }
}

/**
 * Written only while the lock is held, through a rename, so a refused opener reads either
 * the whole note or none. Best effort: the note only explains the lock, it is not the lock.
 */
function writeOwner(ownerFile: string, fileMode: number): void {
  const note: StoreOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  const temp = `${ownerFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(note) + '\n', { mode: fileMode });
    chmodSync(temp, fileMode); // exactly, whatever the umask
    renameSync(temp, ownerFile);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // The temp file was never created.
    }
  }
}

function lockFileError(lockFile: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`cannot use its lock file ${lockFile} (${reason}); if it is not a file, remove it`, { cause });
}
