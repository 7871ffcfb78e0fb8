import Database from 'better-sqlite3';
import { existsSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { InvalidOptionError, OffthreadError, StoreCorruptError, StoreUnavailableError } from '../errors.js';
import { checkVersion, migrate } from './migrations.js';
import { createWithMode, DEFAULT_FILE_MODE } from './file-mode.js';
import { OwnerLock } from './owner-lock.js';

/**
 * What a commit survives. Both use WAL.
 * - 'normal' (synchronous = NORMAL): a crash of the process loses nothing committed; a power
 *   loss or OS crash can drop the last commits, and the file stays consistent.
 * - 'full' (synchronous = FULL): every commit is fsynced before it returns, so it also
 *   survives a power loss; each commit costs a disk flush.
 */
export type Durability = 'normal' | 'full';

export interface SqliteStoreOptions {
  /** Open for inspection only: no lock, no pragma that writes, no migration, writes fail. @default false */
  readonly?: boolean;
  /** @default 'normal' */
  durability?: Durability;
  /**
   * Read-write on a file: checkpoint the WAL on a thread of its own (see checkpointer.ts).
   * Off for a short write that starts no thread (SQLite then checkpoints as it closes).
   * @default true
   */
  checkpointThread?: boolean;
  /**
   * The mode of the files a read-write open creates: the database (whose mode SQLite gives
   * its -wal and -shm too), the lock and the owner note. Payloads and results may hold
   * secrets, so only the owner may read them by default. @default 0o600
   */
  fileMode?: number;
}

/** Short: the runtime owns its file, so waiting on a lock means something is wrong. */
const BUSY_TIMEOUT_MS = 100;

const SYNCHRONOUS: Record<Durability, string> = { normal: 'NORMAL', full: 'FULL' };

export interface OpenedDatabase {
  db: Database.Database;
  /** Held while the store is open read-write on a file; released after the database closes. */
  lock: OwnerLock | undefined;
}

/**
 * Opens and migrates the database. The order is what keeps a failed open harmless: every
 * check that only reads (can it be opened, is it a database, is its version known) runs
 * before the owner lock is taken, so those failures leave no lock file; the lock is taken
 * before the first write (journal_mode rewrites the header), so a refused opener changes
 * nothing in the file.
 */
export function openDatabase(path: string, options: SqliteStoreOptions = {}): OpenedDatabase {
  const readonly = options.readonly ?? false;
  const durability = options.durability ?? 'normal';
  if (!Object.hasOwn(SYNCHRONOUS, durability)) {
    throw new InvalidOptionError('durability', `expected 'normal' or 'full', got ${String(durability)}`);
  }
  const synchronous = SYNCHRONOUS[durability];
  // ':memory:' and '' (a private temp file) cannot be shared, so they need no owner.
  const shared = path !== ':memory:' && path !== '';
  const existed = !shared || readonly || existsSync(path);
  const fileMode = options.fileMode ?? DEFAULT_FILE_MODE;
  let db: Database.Database;
  try {
    // Made before SQLite opens it, with the mode asked for: SQLite gives the -wal and -shm
    // files it creates the mode of the database file.
    if (!existed) createWithMode(path, fileMode);
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    if (!existed) removeIfEmpty(path);
    throw new StoreUnavailableError(path, error);
  }
  let lock: OwnerLock | undefined;
  try {
    // A schema (views, triggers) is never trusted to call functions with side effects: a
    // crafted file must not run anything when its rows are read. (better-sqlite3 also
    // opens every connection in SQLite's defensive mode, so the schema cannot be forged.)
    db.pragma('trusted_schema = OFF');
    checkVersion(db, readonly);
    if (!readonly && shared) lock = OwnerLock.acquire(realpathSync(path), path, fileMode);
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('foreign_keys = ON');
    if (!readonly) migrate(db);
    return { db, lock };
  } catch (error) {
    db.close();
    lock?.release();
    // Opening created the file (SQLite creates it on open); a refused opener takes it away
    // again, if it is still empty, rather than leave an empty database behind.
    if (!existed) removeIfEmpty(path);
    if (error instanceof OffthreadError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new StoreCorruptError(path, error);
    throw new StoreUnavailableError(path, error);
  }
}

function removeIfEmpty(path: string): void {
  try {
    if (statSync(path).size === 0) unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove.
  }
}
